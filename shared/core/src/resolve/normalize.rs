//! Per-field normalisation of person records, and the configurable column mapping.
//!
//! Every compared field is brought to one canonical form before blocking and comparison:
//! * names: Unicode folded to ASCII (`Müller` → `muller`), lower case, punctuation and spaces
//!   removed (`O'Hagan` → `ohagan`, `Mary-Ann` → `maryann`), titles dropped (`Dr`, `Mrs`); the
//!   given name's first part mapped from a nickname to its formal name (`bill` → `william`);
//! * dates of birth: digits `YYYYMMDD` from `YYYYMMDD`, `YYYY-MM-DD`, `YYYY/MM/DD` or
//!   `DD/MM/YYYY`; damaged values are kept as digits (they still compare by edit distance), and the
//!   comparison recognises day/month swaps;
//! * addresses: folded, street types abbreviated the USPS way (`street` → `st`, `crescent` →
//!   `cres`), a leading house number moved to the street number when that is empty;
//! * e-mails: lower case, `+tags` removed, dots removed at Gmail-like providers, `googlemail.com`
//!   read as `gmail.com`;
//! * phones: digits in E.164 order without the `+`, the default country's code (NANP, `1`)
//!   implied: `+1 (600) 653-5946`, `001 600 653 5946` and `600-653-5946` are all `6006535946`,
//!   `+44 20 7946 0018` is `442079460018`;
//! * document numbers (here the national id): letters and digits, upper case ignored.
use crate::domain::pii::fold_name;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Longest value kept per field, in bytes (longer values are cut at a character boundary), so a
/// cluster summary stays small. The first 40 bytes of a name, address or e-mail tell people apart.
pub const MAX_VALUE_BYTES: usize = 40;

/// Cuts a value to [`MAX_VALUE_BYTES`].
pub fn cap(mut s: String) -> String {
    if s.len() > MAX_VALUE_BYTES {
        let mut end = MAX_VALUE_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// Which input column holds each field. `None` disables a field. Defaults match the labelled
/// data sets (`rec_id, given_name, surname, dob, ...`); override with `field=column` pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    pub id: String,
    pub given: Option<String>,
    pub family: Option<String>,
    pub dob: Option<String>,
    pub street_number: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub postcode: Option<String>,
    pub state: Option<String>,
    pub national_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl Default for ColumnMap {
    fn default() -> Self {
        let s = |v: &str| Some(v.to_string());
        ColumnMap {
            id: "rec_id".into(),
            given: s("given_name"),
            family: s("surname"),
            dob: s("dob"),
            street_number: s("street_number"),
            address: s("address_1"),
            city: s("suburb"),
            postcode: s("postcode"),
            state: s("state"),
            national_id: s("soc_sec_id"),
            email: s("email"),
            phone: s("phone"),
        }
    }
}

impl ColumnMap {
    /// Applies overrides `field=column,field=column` (an empty column disables the field).
    pub fn with_overrides(mut self, spec: &str) -> Result<Self, String> {
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, column) = part.split_once('=').ok_or_else(|| format!("--map: `{part}` is not field=column"))?;
            let column = column.trim();
            let col = (!column.is_empty()).then(|| column.to_string());
            match field.trim() {
                "id" => self.id = col.ok_or("--map: id cannot be disabled")?,
                "given" => self.given = col,
                "family" => self.family = col,
                "dob" => self.dob = col,
                "street_number" => self.street_number = col,
                "address" => self.address = col,
                "city" => self.city = col,
                "postcode" => self.postcode = col,
                "state" => self.state = col,
                "national_id" => self.national_id = col,
                "email" => self.email = col,
                "phone" => self.phone = col,
                other => return Err(format!("--map: unknown field `{other}`")),
            }
        }
        Ok(self)
    }

    /// The mapped fields in the order [`person`] takes them.
    pub fn fields(&self) -> [Option<&str>; 11] {
        [
            self.given.as_deref(),
            self.family.as_deref(),
            self.dob.as_deref(),
            self.street_number.as_deref(),
            self.address.as_deref(),
            self.city.as_deref(),
            self.postcode.as_deref(),
            self.state.as_deref(),
            self.national_id.as_deref(),
            self.email.as_deref(),
            self.phone.as_deref(),
        ]
    }
}

/// A normalised person record: one value per field, empty when unknown. The values live in one
/// allocation (the batch path holds millions of records and compares tens of millions of pairs,
/// so each record is a couple of cache lines, not a dozen scattered strings). `Debug` does not
/// print the values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Person {
    buf: Box<str>,
    ends: [u16; SLOTS],
}

/// Stored values: the 11 compared fields plus the given name's formal form.
const SLOTS: usize = 12;
const S_GIVEN: usize = 0;
const S_CANON: usize = 1;

/// Slot of each compared field (in [`super::compare::LEVELS`] order).
const FIELD_SLOT: [usize; 11] = [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let known = (0..11).filter(|&i| !self.field(i).is_empty()).count();
        write!(f, "Person(<redacted>, {known} fields known)")
    }
}

impl Person {
    /// A record from already normalised values: given, given's formal form, family, dob, street
    /// number, address, city, postcode, state, national id, e-mail, phone.
    pub fn from_normalised(values: [&str; SLOTS]) -> Person {
        let len: usize = values.iter().map(|v| v.len()).sum();
        let mut buf = String::with_capacity(len);
        let mut ends = [0u16; SLOTS];
        for (i, v) in values.iter().enumerate() {
            buf.push_str(v);
            ends[i] = buf.len().min(u16::MAX as usize) as u16;
        }
        Person { buf: buf.into_boxed_str(), ends }
    }

    /// A record holding names only (for comparisons of cluster values).
    pub fn with_names(given: &str, family: &str) -> Person {
        let canon = canonical_given(given);
        Person::from_normalised([given, canon, family, "", "", "", "", "", "", "", "", ""])
    }

    #[inline]
    fn slot(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.buf[start..self.ends[i] as usize]
    }

    /// Folded given name(s) without spaces or punctuation.
    #[inline]
    pub fn given(&self) -> &str {
        self.slot(S_GIVEN)
    }
    /// The first given name with a nickname replaced by its formal name (bill → william).
    #[inline]
    pub fn given_canon(&self) -> &str {
        self.slot(S_CANON)
    }
    #[inline]
    pub fn family(&self) -> &str {
        self.slot(2)
    }
    /// Digits of the date of birth, `YYYYMMDD` when it was readable (possibly damaged otherwise).
    #[inline]
    pub fn dob(&self) -> &str {
        self.slot(3)
    }
    #[inline]
    pub fn street_number(&self) -> &str {
        self.slot(4)
    }
    /// Folded address line with abbreviated street types (`mullaly crst`).
    #[inline]
    pub fn address(&self) -> &str {
        self.slot(5)
    }
    #[inline]
    pub fn city(&self) -> &str {
        self.slot(6)
    }
    #[inline]
    pub fn postcode(&self) -> &str {
        self.slot(7)
    }
    #[inline]
    pub fn state(&self) -> &str {
        self.slot(8)
    }
    /// Document or national identity number: lower-case letters and digits.
    #[inline]
    pub fn national_id(&self) -> &str {
        self.slot(9)
    }
    /// Canonical e-mail (see the module documentation).
    #[inline]
    pub fn email(&self) -> &str {
        self.slot(10)
    }
    /// Phone digits in E.164 order, the default country code (1) implied.
    #[inline]
    pub fn phone(&self) -> &str {
        self.slot(11)
    }

    /// The part of the e-mail before `@`.
    pub fn email_local(&self) -> &str {
        email_local(self.email())
    }

    /// The date of birth when `dob` is a valid `YYYYMMDD`.
    pub fn dob_ymd(&self) -> Option<(u16, u8, u8)> {
        parse_ymd(self.dob())
    }

    /// The field's value by index ([`super::compare::GIVEN`] ..= [`super::compare::PHONE`]).
    #[inline]
    pub fn field(&self, f: usize) -> &str {
        match FIELD_SLOT.get(f) {
            Some(&s) => self.slot(s),
            None => "",
        }
    }

    /// The same record with one field replaced (normalised value).
    pub fn with_field(&self, f: usize, value: &str) -> Person {
        let mut v: [&str; SLOTS] = std::array::from_fn(|i| self.slot(i));
        v[FIELD_SLOT[f]] = value;
        let canon;
        if f == 0 {
            canon = canonical_given(value).to_string();
            v[S_CANON] = &canon;
            return Person::from_normalised(v);
        }
        Person::from_normalised(v)
    }

    /// Whether no field is known.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Normalises one record given its raw fields in [`ColumnMap::fields`] order: given name, family
/// name, date of birth, street number, address line, city, postcode, state or region, document
/// number, e-mail, phone.
pub fn person(raw: [&str; 11]) -> Person {
    let [given, family, dob, street_number, address, city, postcode, state, national_id, email_raw, phone_raw] = raw;
    let (given, given_canon) = given_name(given);
    let mut street_number = digits(street_number).trim_start_matches('0').to_string();
    let address = address_line(address, &mut street_number);
    let values = [
        cap(given),
        cap(given_canon),
        cap(name(family)),
        cap(date(dob)),
        cap(street_number),
        cap(address),
        cap(fold(city)),
        cap(alnum(postcode)),
        cap(alnum(state)),
        cap(alnum(national_id)),
        cap(email(email_raw)),
        cap(phone(phone_raw)),
    ];
    Person::from_normalised(std::array::from_fn(|i| values[i].as_str()))
}

/// Folds to lower-case ASCII letters and digits separated by single spaces. A fast path for
/// ASCII input; anything else goes through Unicode transliteration.
pub fn fold(raw: &str) -> String {
    if !raw.is_ascii() {
        return fold_name(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut space = true;
    for c in raw.bytes() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase() as char);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// A name folded to lower-case ASCII letters and digits, without spaces or punctuation.
pub fn name(raw: &str) -> String {
    let mut s = fold(raw);
    s.retain(|c| c != ' ');
    s
}

const TITLES: &[&str] = &["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "rev"];

/// The given name without spaces, and the formal form of its first part.
pub fn given_name(raw: &str) -> (String, String) {
    let folded = fold(raw);
    let mut parts: Vec<&str> = folded.split(' ').filter(|p| !p.is_empty()).collect();
    while parts.len() > 1 && TITLES.contains(&parts[0]) {
        parts.remove(0);
    }
    let given: String = parts.concat();
    let canon = match parts.first() {
        Some(first) if parts.len() > 1 => canonical_given(first).to_string(),
        _ => canonical_given(&given).to_string(),
    };
    (given, canon)
}

pub fn digits(raw: &str) -> String {
    raw.bytes().filter(u8::is_ascii_digit).map(|c| c as char).collect()
}

/// Letters and digits only, lower case (postcodes, document numbers).
pub fn alnum(raw: &str) -> String {
    raw.bytes().filter(u8::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase() as char).collect()
}

/// A date of birth as `YYYYMMDD` digits. `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD` and
/// `DD/MM/YYYY` (also with `-` or `.`) are rearranged; anything else keeps its digits as held.
pub fn date(raw: &str) -> String {
    let raw = raw.trim();
    let parts: Vec<&str> = raw.split(['-', '/', '.', ' ']).filter(|p| !p.is_empty()).collect();
    if parts.len() == 3 && parts.iter().all(|p| p.bytes().all(|c| c.is_ascii_digit())) {
        let pad = |p: &str| if p.len() == 1 { format!("0{p}") } else { p.to_string() };
        if parts[0].len() == 4 && parts[1].len() <= 2 && parts[2].len() <= 2 {
            return format!("{}{}{}", parts[0], pad(parts[1]), pad(parts[2]));
        }
        if parts[2].len() == 4 && parts[0].len() <= 2 && parts[1].len() <= 2 {
            return format!("{}{}{}", parts[2], pad(parts[1]), pad(parts[0]));
        }
    }
    // A timestamp such as 1973-04-22T00:00:00Z: the date part.
    if raw.len() > 10 && raw.as_bytes().get(10) == Some(&b'T') {
        return date(&raw[..10]);
    }
    digits(raw)
}

/// `YYYYMMDD` when it is a valid calendar date (years 1850–2100).
pub fn parse_ymd(d: &str) -> Option<(u16, u8, u8)> {
    let b = d.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |a, &c| a * 10 + (c - b'0') as u32);
    let (y, m, day) = (n(0..4), n(4..6), n(6..8));
    if !(1850..=2100).contains(&y) || !(1..=12).contains(&m) || day == 0 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (day <= days).then_some((y as u16, m as u8, day as u8))
}

/// Whether two valid dates differ only by day and month swapped.
pub fn day_month_swapped(a: Option<(u16, u8, u8)>, b: Option<(u16, u8, u8)>) -> bool {
    match (a, b) {
        (Some((ya, ma, da)), Some((yb, mb, db))) => ya == yb && ma == db && da == mb && ma != da,
        _ => false,
    }
}

/// Canonical e-mail: lower case, `+tag` removed, dots removed at Gmail-like providers (which
/// ignore them), `googlemail.com` → `gmail.com`. Not an address: empty.
pub fn email(raw: &str) -> String {
    let s = raw.trim().to_lowercase();
    let Some((local, domain)) = s.rsplit_once('@') else {
        return if s.is_empty() { s } else { String::new() };
    };
    let domain = domain.trim_end_matches('.');
    let domain = if domain == "googlemail.com" { "gmail.com" } else { domain };
    let local = local.split('+').next().unwrap_or("");
    if local.is_empty() || domain.is_empty() {
        return String::new();
    }
    let local: String =
        if domain == "gmail.com" { local.chars().filter(|&c| c != '.').collect() } else { local.into() };
    format!("{local}@{domain}")
}

/// The part of a canonical e-mail before `@`.
pub fn email_local(email: &str) -> &str {
    email.split('@').next().unwrap_or("")
}

/// Phone digits in E.164 order without `+`, the default country's code (1, NANP) left out:
/// `+1 600 653 5946`, `1-600-653-5946` and `(600) 653-5946` → `6006535946`; `+44 20 7946 0018`
/// and `0044 20 7946 0018` → `442079460018`. Extensions (`x123`, `ext. 123`) are dropped.
pub fn phone(raw: &str) -> String {
    let raw = raw.trim();
    let lower = raw.to_ascii_lowercase();
    let cut = ["ext", "x", "#"].iter().filter_map(|m| lower.find(m)).min().unwrap_or(raw.len());
    let body = &raw[..cut];
    let international = body.trim_start().starts_with('+');
    let mut d = digits(body);
    if !international && d.starts_with("011") && d.len() > 11 {
        d.drain(..3); // NANP international prefix
    } else if !international && d.starts_with("00") && d.len() > 10 {
        d.drain(..2); // international prefix used in most of the world
    } else if !international {
        if d.len() == 11 && d.starts_with('1') {
            d.remove(0); // national trunk prefix / country code 1 written without +
        }
        return d;
    }
    if d.len() == 11 && d.starts_with('1') {
        d.remove(0);
    }
    d
}

/// The E.164 rendering of a canonical phone (`+1` for ten-digit national numbers).
pub fn phone_e164(canonical: &str) -> String {
    if canonical.len() == 10 {
        format!("+1{canonical}")
    } else {
        format!("+{canonical}")
    }
}

/// Street types and directions, USPS abbreviations (Publication 28, appendix C1 and C2) plus a
/// few British/Australian ones (crescent → cres, close → cl).
const STREET_TYPES: &[(&str, &str)] = &[
    ("alley", "aly"),
    ("avenue", "ave"),
    ("av", "ave"),
    ("avenu", "ave"),
    ("boulevard", "blvd"),
    ("boulv", "blvd"),
    ("bend", "bnd"),
    ("bluff", "blf"),
    ("bottom", "btm"),
    ("branch", "br"),
    ("bridge", "brg"),
    ("brook", "brk"),
    ("burg", "bg"),
    ("burgs", "bgs"),
    ("bypass", "byp"),
    ("camp", "cp"),
    ("canyon", "cyn"),
    ("cape", "cpe"),
    ("causeway", "cswy"),
    ("center", "ctr"),
    ("centre", "ctr"),
    ("circle", "cir"),
    ("circles", "cirs"),
    ("cliff", "clf"),
    ("cliffs", "clfs"),
    ("close", "cl"),
    ("club", "clb"),
    ("common", "cmn"),
    ("commons", "cmns"),
    ("corner", "cor"),
    ("corners", "cors"),
    ("course", "crse"),
    ("court", "ct"),
    ("courts", "cts"),
    ("cove", "cv"),
    ("coves", "cvs"),
    ("creek", "crk"),
    ("crescent", "cres"),
    ("cresent", "cres"),
    ("crescnt", "cres"),
    ("crest", "crst"),
    ("crossing", "xing"),
    ("crossroad", "xrd"),
    ("curve", "curv"),
    ("dale", "dl"),
    ("dam", "dm"),
    ("divide", "dv"),
    ("drive", "dr"),
    ("drives", "drs"),
    ("estate", "est"),
    ("estates", "ests"),
    ("expressway", "expy"),
    ("extension", "ext"),
    ("falls", "fls"),
    ("ferry", "fry"),
    ("field", "fld"),
    ("fields", "flds"),
    ("flat", "flt"),
    ("flats", "flts"),
    ("ford", "frd"),
    ("forest", "frst"),
    ("forge", "frg"),
    ("fork", "frk"),
    ("fort", "ft"),
    ("freeway", "fwy"),
    ("garden", "gdn"),
    ("gardens", "gdns"),
    ("gateway", "gtwy"),
    ("glen", "gln"),
    ("green", "grn"),
    ("grove", "grv"),
    ("harbor", "hbr"),
    ("harbour", "hbr"),
    ("haven", "hvn"),
    ("heights", "hts"),
    ("highway", "hwy"),
    ("hill", "hl"),
    ("hills", "hls"),
    ("hollow", "holw"),
    ("island", "is"),
    ("islands", "iss"),
    ("junction", "jct"),
    ("key", "ky"),
    ("knoll", "knl"),
    ("knolls", "knls"),
    ("lake", "lk"),
    ("lakes", "lks"),
    ("landing", "lndg"),
    ("lane", "ln"),
    ("light", "lgt"),
    ("lights", "lgts"),
    ("loaf", "lf"),
    ("lock", "lck"),
    ("locks", "lcks"),
    ("lodge", "ldg"),
    ("manor", "mnr"),
    ("manors", "mnrs"),
    ("meadow", "mdw"),
    ("meadows", "mdws"),
    ("mill", "ml"),
    ("mills", "mls"),
    ("mission", "msn"),
    ("motorway", "mtwy"),
    ("mount", "mt"),
    ("mountain", "mtn"),
    ("neck", "nck"),
    ("orchard", "orch"),
    ("overpass", "opas"),
    ("parkway", "pkwy"),
    ("parkways", "pkwy"),
    ("passage", "psge"),
    ("pine", "pne"),
    ("pines", "pnes"),
    ("place", "pl"),
    ("plain", "pln"),
    ("plains", "plns"),
    ("plaza", "plz"),
    ("point", "pt"),
    ("points", "pts"),
    ("port", "prt"),
    ("ports", "prts"),
    ("prairie", "pr"),
    ("radial", "radl"),
    ("ranch", "rnch"),
    ("rapid", "rpd"),
    ("rapids", "rpds"),
    ("rest", "rst"),
    ("ridge", "rdg"),
    ("ridges", "rdgs"),
    ("river", "riv"),
    ("road", "rd"),
    ("roads", "rds"),
    ("route", "rte"),
    ("shoal", "shl"),
    ("shoals", "shls"),
    ("shore", "shr"),
    ("shores", "shrs"),
    ("skyway", "skwy"),
    ("spring", "spg"),
    ("springs", "spgs"),
    ("square", "sq"),
    ("squares", "sqs"),
    ("station", "sta"),
    ("stravenue", "stra"),
    ("stream", "strm"),
    ("street", "st"),
    ("str", "st"),
    ("streets", "sts"),
    ("summit", "smt"),
    ("terrace", "ter"),
    ("throughway", "trwy"),
    ("trace", "trce"),
    ("track", "trak"),
    ("trafficway", "trfy"),
    ("trail", "trl"),
    ("trailer", "trlr"),
    ("tunnel", "tunl"),
    ("turnpike", "tpke"),
    ("underpass", "upas"),
    ("union", "un"),
    ("unions", "uns"),
    ("valley", "vly"),
    ("valleys", "vlys"),
    ("viaduct", "via"),
    ("view", "vw"),
    ("views", "vws"),
    ("village", "vlg"),
    ("villages", "vlgs"),
    ("ville", "vl"),
    ("vista", "vis"),
    ("wells", "wls"),
    ("north", "n"),
    ("south", "s"),
    ("east", "e"),
    ("west", "w"),
    ("northeast", "ne"),
    ("northwest", "nw"),
    ("southeast", "se"),
    ("southwest", "sw"),
    ("apartment", "apt"),
    ("suite", "ste"),
    ("unit", "unit"),
];

fn street_type(token: &str) -> &str {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let t = TABLE.get_or_init(|| STREET_TYPES.iter().copied().collect());
    t.get(token).copied().unwrap_or(token)
}

/// A folded address line with abbreviated street types. A leading house number (`12 elm street`,
/// `12a elm st`) moves to `street_number` when that is empty, and is dropped when it repeats it.
pub fn address_line(raw: &str, street_number: &mut String) -> String {
    let folded = fold(raw);
    let mut tokens = folded.split(' ').filter(|t| !t.is_empty()).peekable();
    if let Some(first) = tokens.peek() {
        let lead: String = first.bytes().take_while(u8::is_ascii_digit).map(|c| c as char).collect();
        if !lead.is_empty() && tokens.clone().count() > 1 {
            let n = lead.trim_start_matches('0').to_string();
            if street_number.is_empty() || *street_number == n {
                *street_number = n;
                tokens.next();
            }
        }
    }
    let mut out = String::with_capacity(folded.len());
    for t in tokens {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(street_type(t));
    }
    out
}

/// Common English nicknames and short forms → formal given name.
const NICKNAMES: &[(&str, &str)] = &[
    ("bill", "william"),
    ("billy", "william"),
    ("will", "william"),
    ("willy", "william"),
    ("willie", "william"),
    ("liam", "william"),
    ("bob", "robert"),
    ("bobby", "robert"),
    ("rob", "robert"),
    ("robbie", "robert"),
    ("bert", "robert"),
    ("liz", "elizabeth"),
    ("lizzie", "elizabeth"),
    ("lizzy", "elizabeth"),
    ("beth", "elizabeth"),
    ("betty", "elizabeth"),
    ("eliza", "elizabeth"),
    ("libby", "elizabeth"),
    ("jen", "jennifer"),
    ("jenny", "jennifer"),
    ("jenn", "jennifer"),
    ("mike", "michael"),
    ("mikey", "michael"),
    ("mick", "michael"),
    ("mickey", "michael"),
    ("kate", "katherine"),
    ("katie", "katherine"),
    ("kathy", "katherine"),
    ("kath", "katherine"),
    ("catherine", "katherine"),
    ("kathryn", "katherine"),
    ("cathy", "katherine"),
    ("kat", "katherine"),
    ("jim", "james"),
    ("jimmy", "james"),
    ("jamie", "james"),
    ("tom", "thomas"),
    ("tommy", "thomas"),
    ("dave", "david"),
    ("davy", "david"),
    ("dan", "daniel"),
    ("danny", "daniel"),
    ("joe", "joseph"),
    ("joey", "joseph"),
    ("chris", "christopher"),
    ("matt", "matthew"),
    ("matty", "matthew"),
    ("nick", "nicholas"),
    ("nicky", "nicholas"),
    ("tony", "anthony"),
    ("steve", "steven"),
    ("stephen", "steven"),
    ("andy", "andrew"),
    ("drew", "andrew"),
    ("alex", "alexander"),
    ("sam", "samuel"),
    ("sammy", "samuel"),
    ("ben", "benjamin"),
    ("benny", "benjamin"),
    ("ed", "edward"),
    ("eddie", "edward"),
    ("ted", "edward"),
    ("teddy", "edward"),
    ("rick", "richard"),
    ("ricky", "richard"),
    ("rich", "richard"),
    ("richie", "richard"),
    ("dick", "richard"),
    ("greg", "gregory"),
    ("jeff", "jeffrey"),
    ("geoff", "jeffrey"),
    ("geoffrey", "jeffrey"),
    ("jon", "jonathan"),
    ("josh", "joshua"),
    ("larry", "lawrence"),
    ("laurence", "lawrence"),
    ("ron", "ronald"),
    ("ronnie", "ronald"),
    ("don", "donald"),
    ("donnie", "donald"),
    ("ken", "kenneth"),
    ("kenny", "kenneth"),
    ("tim", "timothy"),
    ("timmy", "timothy"),
    ("charlie", "charles"),
    ("chuck", "charles"),
    ("fred", "frederick"),
    ("freddie", "frederick"),
    ("freddy", "frederick"),
    ("jack", "john"),
    ("johnny", "john"),
    ("pete", "peter"),
    ("phil", "phillip"),
    ("philip", "phillip"),
    ("ray", "raymond"),
    ("doug", "douglas"),
    ("nate", "nathan"),
    ("zach", "zachary"),
    ("zack", "zachary"),
    ("sue", "susan"),
    ("susie", "susan"),
    ("suzy", "susan"),
    ("peggy", "margaret"),
    ("maggie", "margaret"),
    ("meg", "margaret"),
    ("marge", "margaret"),
    ("debbie", "deborah"),
    ("deb", "deborah"),
    ("debra", "deborah"),
    ("cindy", "cynthia"),
    ("sandy", "sandra"),
    ("vicky", "victoria"),
    ("vicki", "victoria"),
    ("tori", "victoria"),
    ("becky", "rebecca"),
    ("becca", "rebecca"),
    ("abby", "abigail"),
    ("jess", "jessica"),
    ("jessie", "jessica"),
    ("mandy", "amanda"),
    ("barb", "barbara"),
    ("kim", "kimberly"),
    ("pam", "pamela"),
    ("patty", "patricia"),
    ("pat", "patricia"),
    ("trish", "patricia"),
    ("tricia", "patricia"),
    ("tina", "christina"),
    ("chrissy", "christine"),
    ("dot", "dorothy"),
    ("dottie", "dorothy"),
    ("judy", "judith"),
    ("val", "valerie"),
    ("stan", "stanley"),
    ("russ", "russell"),
    ("walt", "walter"),
    ("vince", "vincent"),
    ("gerry", "gerald"),
    ("jerry", "gerald"),
    ("hank", "henry"),
    ("harry", "henry"),
    ("terry", "terence"),
    ("ally", "allison"),
    ("alison", "allison"),
    ("angie", "angela"),
    ("nikki", "nicole"),
    ("steph", "stephanie"),
    ("sally", "sarah"),
    ("sara", "sarah"),
    ("kris", "kristen"),
    ("jackie", "jacqueline"),
    ("theo", "theodore"),
    ("gabe", "gabriel"),
    ("manny", "manuel"),
    ("tommie", "thomas"),
    ("al", "albert"),
    ("bernie", "bernard"),
    ("frank", "francis"),
    ("frankie", "francis"),
    ("gene", "eugene"),
    ("lenny", "leonard"),
    ("leo", "leonard"),
    ("mitch", "mitchell"),
    ("nat", "nathaniel"),
    ("ollie", "oliver"),
    ("randy", "randall"),
    ("rudy", "rudolph"),
    ("sol", "solomon"),
    ("toby", "tobias"),
    ("wes", "wesley"),
    ("abe", "abraham"),
    ("cal", "calvin"),
    ("cliff", "clifford"),
    ("connie", "constance"),
    ("di", "diana"),
    ("ellie", "eleanor"),
    ("fran", "frances"),
    ("gwen", "gwendolyn"),
    ("jan", "janet"),
    ("jo", "josephine"),
    ("josie", "josephine"),
    ("lou", "louis"),
    ("lu", "lucy"),
    ("maddie", "madison"),
    ("mel", "melissa"),
    ("missy", "melissa"),
    ("molly", "mary"),
    ("polly", "mary"),
    ("nan", "nancy"),
    ("rosie", "rose"),
    ("tess", "teresa"),
    ("theresa", "teresa"),
    ("trudy", "gertrude"),
    ("wendy", "gwendolyn"),
    ("bea", "beatrice"),
    ("ginny", "virginia"),
    ("lynn", "linda"),
    ("linnie", "linda"),
    ("cassie", "cassandra"),
    ("cathie", "katherine"),
    ("kristy", "kristen"),
    ("kirsty", "kristen"),
    ("hattie", "harriet"),
    ("sandi", "sandra"),
    ("danielle", "danielle"),
    ("dani", "danielle"),
    ("jaime", "james"),
    ("tammy", "tamara"),
    ("sophie", "sophia"),
];

/// The formal given name for a nickname (itself otherwise).
pub fn canonical_given(given: &str) -> &str {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let t = TABLE.get_or_init(|| NICKNAMES.iter().copied().collect());
    t.get(given).copied().unwrap_or(given)
}

/// The nickname table (nickname, formal name), for generators and documentation.
pub fn nicknames() -> &'static [(&'static str, &'static str)] {
    NICKNAMES
}

/// American Soundex (letter + 3 digits) of a folded name; empty for an empty name.
pub fn soundex(s: &str) -> String {
    let mut out = [0u8; 4];
    let n = soundex_into(s, &mut out);
    String::from_utf8_lossy(&out[..n]).into_owned()
}

/// Soundex into a 4-byte buffer; returns its length (0 or 4).
pub fn soundex_into(s: &str, out: &mut [u8; 4]) -> usize {
    fn code(c: u8) -> u8 {
        match c {
            b'b' | b'f' | b'p' | b'v' => b'1',
            b'c' | b'g' | b'j' | b'k' | b'q' | b's' | b'x' | b'z' => b'2',
            b'd' | b't' => b'3',
            b'l' => b'4',
            b'm' | b'n' => b'5',
            b'r' => b'6',
            b'h' | b'w' => b'h',
            _ => b'0',
        }
    }
    let mut b = s.bytes().filter(u8::is_ascii_lowercase);
    let Some(first) = b.next() else { return 0 };
    out[0] = first.to_ascii_uppercase();
    let mut n = 1;
    let mut last = code(first);
    for c in b {
        let k = code(c);
        if k == b'h' {
            continue;
        }
        if k != b'0' && k != last {
            out[n] = k;
            n += 1;
            if n == 4 {
                break;
            }
        }
        last = k;
    }
    while n < 4 {
        out[n] = b'0';
        n += 1;
    }
    4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_resolve_to_formal_names() {
        assert_eq!(canonical_given("bill"), "william");
        assert_eq!(canonical_given("liz"), "elizabeth");
        assert_eq!(canonical_given("jen"), "jennifer");
        assert_eq!(canonical_given("zebedee"), "zebedee");
        let p = person(["Jen", "O'Hagan", "1973-04-22", "", "", "", "", "", "", "J@X.COM", "(600) 653-5946"]);
        assert_eq!(p.given_canon(), "jennifer");
        assert_eq!(p.family(), "ohagan");
        assert_eq!(p.dob_ymd(), Some((1973, 4, 22)));
        assert_eq!(p.email(), "j@x.com");
        assert_eq!(p.phone(), "6006535946");
    }

    #[test]
    fn names_are_folded_and_split() {
        assert_eq!(given_name("  Dr. Mary-Ann "), ("maryann".to_string(), "mary".to_string()));
        assert_eq!(given_name("Bill Henry"), ("billhenry".to_string(), "william".to_string()));
        assert_eq!(given_name("Zoë"), ("zoe".to_string(), "zoe".to_string()));
        assert_eq!(name("Müller-Lüdenscheidt"), "mullerludenscheidt");
        assert_eq!(name("Łukasz"), "lukasz");
        assert_eq!(name("van der Berg"), "vanderberg");
    }

    #[test]
    fn dates_are_read_in_several_forms_validated_and_swaps_detected() {
        assert_eq!(date("1973-04-22"), "19730422");
        assert_eq!(date("1973/4/2"), "19730402");
        assert_eq!(date("22/04/1973"), "19730422");
        assert_eq!(date("1973-04-22T00:00:00Z"), "19730422");
        assert_eq!(date("194301920"), "194301920", "damaged values keep their digits");
        assert_eq!(parse_ymd("19730231"), None);
        assert_eq!(parse_ymd("20000229"), Some((2000, 2, 29)));
        assert_eq!(parse_ymd("19000229"), None);
        assert_eq!(parse_ymd("194301920"), None);
        assert!(day_month_swapped(parse_ymd("19730405"), parse_ymd("19730504")));
        assert!(!day_month_swapped(parse_ymd("19730405"), parse_ymd("19730405")));
    }

    #[test]
    fn emails_are_canonicalised() {
        assert_eq!(email(" Anna.Nowak+Travel@GoogleMail.com "), "annanowak@gmail.com");
        assert_eq!(email("anna.nowak+x@example.com"), "anna.nowak@example.com");
        assert_eq!(email("Anna.Nowak@Example.com"), "anna.nowak@example.com");
        assert_eq!(email("not an address"), "");
        assert_eq!(email("+x@example.com"), "");
        assert_eq!(email_local("anna@x.org"), "anna");
    }

    #[test]
    fn phones_are_canonical_digits() {
        for raw in ["+1 (600) 653-5946", "1-600-653-5946", "600.653.5946", "001 600 653 5946", "6006535946 ext. 12"] {
            assert_eq!(phone(raw), "6006535946", "{raw}");
        }
        assert_eq!(phone("+44 20 7946 0018"), "442079460018");
        assert_eq!(phone("0044 20 7946 0018"), "442079460018");
        assert_eq!(phone("011 44 20 7946 0018"), "442079460018");
        assert_eq!(phone("52518543170"), "52518543170", "a damaged number keeps its digits");
        assert_eq!(phone_e164("6006535946"), "+16006535946");
    }

    #[test]
    fn addresses_abbreviate_street_types_and_split_house_numbers() {
        let mut n = String::new();
        assert_eq!(address_line("12 Mullaly Crescent", &mut n), "mullaly cres");
        assert_eq!(n, "12");
        let mut n = "7".to_string();
        assert_eq!(address_line("Elm Street North", &mut n), "elm st n");
        assert_eq!(address_line("elm st. n", &mut n), "elm st n");
        assert_eq!(n, "7");
        let p = person(["", "", "", "", "4 Derek Road", "", "", "", "", "", ""]);
        assert_eq!((p.street_number(), p.address()), ("4", "derek rd"));
        let q = person(["", "", "", "04", "derek rd", "", "", "", "", "", ""]);
        assert_eq!((q.street_number(), q.address()), ("4", "derek rd"));
    }

    #[test]
    fn soundex_codes() {
        assert_eq!(soundex("robert"), "R163");
        assert_eq!(soundex("rupert"), "R163");
        assert_eq!(soundex("ashcraft"), "A261");
        assert_eq!(soundex("tymczak"), "T522");
        assert_eq!(soundex(""), "");
    }

    #[test]
    fn column_map_overrides() {
        let m = ColumnMap::default().with_overrides("given=first,phone=").unwrap();
        assert_eq!(m.given.as_deref(), Some("first"));
        assert_eq!(m.phone, None);
        assert!(ColumnMap::default().with_overrides("nope=x").is_err());
    }
}
