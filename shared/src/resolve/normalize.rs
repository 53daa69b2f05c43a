//! Per-field normalisation of person records, and the configurable column mapping.
use crate::domain::pii::fold_name;
use std::collections::HashMap;

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

    /// The mapped fields in the order of [`Raw`]'s fields.
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

/// A normalised person record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// Folded given name without spaces or punctuation.
    pub given: String,
    /// `given` with a nickname replaced by its formal name (bill → william).
    pub given_canon: String,
    pub family: String,
    /// Digits of the date of birth as held (possibly damaged).
    pub dob: String,
    /// The date of birth when `dob` is a valid `YYYYMMDD`.
    pub dob_ymd: Option<(u16, u8, u8)>,
    pub street_number: String,
    pub address: String,
    pub city: String,
    pub postcode: String,
    pub state: String,
    pub national_id: String,
    pub email: String,
    /// The part of the e-mail before `@`.
    pub email_local: String,
    pub phone: String,
}

/// Normalises one record given its raw fields in [`ColumnMap::fields`] order.
pub fn person(raw: [&str; 11]) -> Person {
    let [given, family, dob, street_number, address, city, postcode, state, national_id, email, phone] = raw;
    let given = name(given);
    let given_canon = canonical_given(&given).to_string();
    let dob = digits(dob);
    let dob_ymd = parse_ymd(&dob);
    let email = email.trim().to_lowercase();
    let email_local = email.split('@').next().unwrap_or("").to_string();
    Person {
        given,
        given_canon,
        family: name(family),
        dob_ymd,
        dob,
        street_number: digits(street_number).trim_start_matches('0').to_string(),
        address: fold_name(address),
        city: fold_name(city),
        postcode: alnum(postcode),
        state: alnum(state),
        national_id: alnum(national_id),
        email,
        email_local,
        phone: digits(phone),
    }
}

/// A name folded to lower-case ASCII letters and digits, without spaces or punctuation.
pub fn name(raw: &str) -> String {
    fold_name(raw).chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

pub fn digits(raw: &str) -> String {
    raw.chars().filter(|c| c.is_ascii_digit()).collect()
}

fn alnum(raw: &str) -> String {
    raw.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

/// `YYYYMMDD` when it is a valid calendar date (years 1850–2100).
pub fn parse_ymd(d: &str) -> Option<(u16, u8, u8)> {
    if d.len() != 8 {
        return None;
    }
    let y: u16 = d[0..4].parse().ok()?;
    let m: u8 = d[4..6].parse().ok()?;
    let day: u8 = d[6..8].parse().ok()?;
    chrono::NaiveDate::from_ymd_opt(y as i32, m as u32, day as u32)?;
    (1850..=2100).contains(&y).then_some((y, m, day))
}

/// Whether two valid dates differ only by day and month swapped.
pub fn day_month_swapped(a: Option<(u16, u8, u8)>, b: Option<(u16, u8, u8)>) -> bool {
    match (a, b) {
        (Some((ya, ma, da)), Some((yb, mb, db))) => ya == yb && ma == db && da == mb && ma != da,
        _ => false,
    }
}

/// Common English nicknames and short forms → formal given name.
const NICKNAMES: &[(&str, &str)] = &[
    ("bill", "william"),
    ("billy", "william"),
    ("will", "william"),
    ("willy", "william"),
    ("liam", "william"),
    ("bob", "robert"),
    ("bobby", "robert"),
    ("rob", "robert"),
    ("robbie", "robert"),
    ("bert", "robert"),
    ("liz", "elizabeth"),
    ("lizzie", "elizabeth"),
    ("beth", "elizabeth"),
    ("betty", "elizabeth"),
    ("eliza", "elizabeth"),
    ("jen", "jennifer"),
    ("jenny", "jennifer"),
    ("jenn", "jennifer"),
    ("mike", "michael"),
    ("mikey", "michael"),
    ("mick", "michael"),
    ("kate", "katherine"),
    ("katie", "katherine"),
    ("kathy", "katherine"),
    ("kath", "katherine"),
    ("catherine", "katherine"),
    ("kathryn", "katherine"),
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
    ("nick", "nicholas"),
    ("nicky", "nicholas"),
    ("tony", "anthony"),
    ("steve", "steven"),
    ("stephen", "steven"),
    ("andy", "andrew"),
    ("drew", "andrew"),
    ("alex", "alexander"),
    ("sam", "samuel"),
    ("ben", "benjamin"),
    ("benny", "benjamin"),
    ("ed", "edward"),
    ("eddie", "edward"),
    ("ted", "edward"),
    ("rick", "richard"),
    ("ricky", "richard"),
    ("rich", "richard"),
    ("dick", "richard"),
    ("greg", "gregory"),
    ("jeff", "jeffrey"),
    ("jon", "jonathan"),
    ("josh", "joshua"),
    ("larry", "lawrence"),
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
    ("jack", "john"),
    ("johnny", "john"),
    ("pete", "peter"),
    ("phil", "phillip"),
    ("philip", "phillip"),
    ("ray", "raymond"),
    ("doug", "douglas"),
    ("nate", "nathan"),
    ("zach", "zachary"),
    ("sue", "susan"),
    ("susie", "susan"),
    ("peggy", "margaret"),
    ("maggie", "margaret"),
    ("meg", "margaret"),
    ("debbie", "deborah"),
    ("deb", "deborah"),
    ("cindy", "cynthia"),
    ("sandy", "sandra"),
    ("vicky", "victoria"),
    ("vicki", "victoria"),
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
    ("trish", "patricia"),
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
    ("hank", "henry"),
    ("terry", "terence"),
    ("ally", "allison"),
    ("alison", "allison"),
    ("angie", "angela"),
    ("cathy", "katherine"),
    ("nicole", "nicole"),
    ("nikki", "nicole"),
    ("tricia", "patricia"),
    ("steph", "stephanie"),
    ("sally", "sarah"),
    ("sara", "sarah"),
    ("kris", "kristen"),
    ("jackie", "jacqueline"),
    ("theo", "theodore"),
    ("gabe", "gabriel"),
    ("manny", "manuel"),
];

/// The formal given name for a nickname (itself otherwise).
pub fn canonical_given(given: &str) -> &str {
    use std::sync::OnceLock;
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let t = TABLE.get_or_init(|| NICKNAMES.iter().copied().collect());
    t.get(given).copied().unwrap_or(given)
}

/// American Soundex (letter + 3 digits) of a folded name; empty for an empty name.
pub fn soundex(s: &str) -> String {
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
    let b: Vec<u8> = s.bytes().filter(|c| c.is_ascii_lowercase()).collect();
    let Some(&first) = b.first() else { return String::new() };
    let mut out = vec![first];
    let mut last = code(first);
    for &c in &b[1..] {
        let k = code(c);
        if k == b'h' {
            continue;
        }
        if k != b'0' && k != last {
            out.push(k);
            if out.len() == 4 {
                break;
            }
        }
        last = k;
    }
    while out.len() < 4 {
        out.push(b'0');
    }
    String::from_utf8(out).expect("ascii")
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
        assert_eq!(p.given_canon, "jennifer");
        assert_eq!(p.family, "ohagan");
        assert_eq!(p.dob_ymd, Some((1973, 4, 22)));
        assert_eq!(p.email, "j@x.com");
        assert_eq!(p.phone, "6006535946");
    }

    #[test]
    fn dates_are_validated_and_swaps_detected() {
        assert_eq!(parse_ymd("19730231"), None);
        assert_eq!(parse_ymd("194301920"), None);
        assert!(day_month_swapped(parse_ymd("19730405"), parse_ymd("19730504")));
        assert!(!day_month_swapped(parse_ymd("19730405"), parse_ymd("19730405")));
    }

    #[test]
    fn soundex_codes() {
        assert_eq!(soundex("robert"), "r163");
        assert_eq!(soundex("rupert"), "r163");
        assert_eq!(soundex("ashcraft"), "a261");
        assert_eq!(soundex("tymczak"), "t522");
    }

    #[test]
    fn column_map_overrides() {
        let m = ColumnMap::default().with_overrides("given=first,phone=").unwrap();
        assert_eq!(m.given.as_deref(), Some("first"));
        assert_eq!(m.phone, None);
        assert!(ColumnMap::default().with_overrides("nope=x").is_err());
    }
}
