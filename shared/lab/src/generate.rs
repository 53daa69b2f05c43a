//! A seeded, deterministic generator of labelled person records in the layout of the shared data
//! sets (`rec_id, cluster_id, given_name, surname, dob, street_number, address_1, suburb,
//! postcode, state, soc_sec_id, email, phone`), for benchmarks and tests.
//!
//! People are drawn from skewed (Zipf-like) distributions of common US given names and surnames
//! plus a long tail of generated surnames, live in households (partners and children share the
//! surname, the address, often a landline and sometimes a family e-mail; a few are twins), and
//! appear 1–5 times each. Every record after a person's first is damaged the way source systems
//! damage data: typos and OCR-like confusions, nicknames, given and family names swapped,
//! day/month swaps and digit errors in dates of birth, moves to a new address, new phones and
//! e-mails, e-mail and phone formatting variants, abbreviated street types, and missing fields.
//! Some records carry shared identifiers: travel-agency e-mails, call-centre numbers and
//! placeholders (`noemail@…`, `0000000000`). `cluster_id` is the truth.

use std::collections::HashSet;

/// Generator settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub people: usize,
    pub seed: u64,
    /// Probability that a duplicate record is damaged in each of its fields (scales all damage).
    pub damage: f64,
    /// Shuffle the records (as a source extract would be ordered) instead of keeping each
    /// person's records together.
    pub shuffle: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { people: 1000, seed: 1, damage: 1.0, shuffle: true }
    }
}

/// One generated record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub rec_id: String,
    pub cluster_id: String,
    /// given_name, surname, dob, street_number, address_1, suburb, postcode, state, soc_sec_id,
    /// email, phone.
    pub values: [String; 11],
}

impl Row {
    /// The 11 raw fields in [`cmp_core::resolve::normalize::person`] order.
    pub fn fields(&self) -> [&str; 11] {
        std::array::from_fn(|i| self.values[i].as_str())
    }
}

/// The CSV header of generated files.
pub const HEADER: [&str; 13] = [
    "rec_id",
    "cluster_id",
    "given_name",
    "surname",
    "dob",
    "street_number",
    "address_1",
    "suburb",
    "postcode",
    "state",
    "soc_sec_id",
    "email",
    "phone",
];

/// Generated records.
#[derive(Debug, Default)]
pub struct Generated {
    pub rows: Vec<Row>,
    pub people: usize,
}

/// SplitMix64: small, fast and reproducible across platforms and crate versions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * n as f64) as usize % n.max(1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below((hi - lo + 1) as usize) as u32
    }
    /// Index into a list drawn with Zipf-like weights 1/(i+1)^s.
    pub fn zipf(&mut self, n: usize, s: f64) -> usize {
        // Inverse transform on the continuous approximation.
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        if (s - 1.0).abs() < 1e-9 {
            let x = ((n as f64 + 1.0).ln() * u).exp() - 1.0;
            return (x as usize).min(n - 1);
        }
        let a = 1.0 - s;
        let max = ((n as f64 + 1.0).powf(a) - 1.0) / a;
        let x = (u * max * a + 1.0).powf(1.0 / a) - 1.0;
        (x as usize).min(n - 1)
    }
    pub fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }
}

const MALE: &[&str] = &[
    "james",
    "robert",
    "john",
    "michael",
    "david",
    "william",
    "richard",
    "joseph",
    "thomas",
    "christopher",
    "charles",
    "daniel",
    "matthew",
    "anthony",
    "mark",
    "donald",
    "steven",
    "andrew",
    "paul",
    "joshua",
    "kenneth",
    "kevin",
    "brian",
    "george",
    "timothy",
    "ronald",
    "jason",
    "edward",
    "jeffrey",
    "ryan",
    "jacob",
    "gary",
    "nicholas",
    "eric",
    "jonathan",
    "stephen",
    "larry",
    "justin",
    "scott",
    "brandon",
    "benjamin",
    "samuel",
    "gregory",
    "alexander",
    "patrick",
    "frank",
    "raymond",
    "jack",
    "dennis",
    "jerry",
    "tyler",
    "aaron",
    "jose",
    "adam",
    "nathan",
    "henry",
    "zachary",
    "douglas",
    "peter",
    "kyle",
    "noah",
    "ethan",
    "jeremy",
    "walter",
    "christian",
    "keith",
    "roger",
    "terry",
    "austin",
    "sean",
    "gerald",
    "carl",
    "harold",
    "dylan",
    "arthur",
    "lawrence",
    "jordan",
    "jesse",
    "bryan",
    "billy",
    "bruce",
    "gabriel",
    "joe",
    "logan",
    "alan",
    "juan",
    "albert",
    "willie",
    "elijah",
    "wayne",
    "randy",
    "vincent",
    "mason",
    "roy",
    "ralph",
    "bobby",
    "russell",
    "bradley",
    "philip",
    "eugene",
    "luis",
    "carlos",
    "miguel",
    "oliver",
    "liam",
    "lucas",
    "aiden",
    "hunter",
    "connor",
    "ahmed",
    "omar",
    "wei",
    "hiroshi",
    "raj",
    "arjun",
    "dmitri",
    "sergei",
    "pierre",
    "hans",
    "lars",
    "mateo",
];

const FEMALE: &[&str] = &[
    "mary",
    "patricia",
    "jennifer",
    "linda",
    "elizabeth",
    "barbara",
    "susan",
    "jessica",
    "sarah",
    "karen",
    "lisa",
    "nancy",
    "betty",
    "sandra",
    "margaret",
    "ashley",
    "kimberly",
    "emily",
    "donna",
    "michelle",
    "carol",
    "amanda",
    "melissa",
    "deborah",
    "stephanie",
    "dorothy",
    "rebecca",
    "sharon",
    "laura",
    "cynthia",
    "amy",
    "kathleen",
    "angela",
    "shirley",
    "brenda",
    "emma",
    "anna",
    "pamela",
    "nicole",
    "samantha",
    "katherine",
    "christine",
    "helen",
    "debra",
    "rachel",
    "carolyn",
    "janet",
    "maria",
    "catherine",
    "heather",
    "diane",
    "olivia",
    "julie",
    "joyce",
    "victoria",
    "ruth",
    "virginia",
    "lauren",
    "kelly",
    "christina",
    "joan",
    "evelyn",
    "judith",
    "andrea",
    "hannah",
    "megan",
    "cheryl",
    "jacqueline",
    "martha",
    "madison",
    "teresa",
    "gloria",
    "sara",
    "janice",
    "ann",
    "kathryn",
    "abigail",
    "sophia",
    "frances",
    "jean",
    "alice",
    "judy",
    "isabella",
    "julia",
    "grace",
    "amber",
    "denise",
    "danielle",
    "marilyn",
    "beverly",
    "charlotte",
    "natalie",
    "theresa",
    "diana",
    "brittany",
    "doris",
    "kayla",
    "alexis",
    "lori",
    "marie",
    "chloe",
    "zoe",
    "mia",
    "ava",
    "fatima",
    "aisha",
    "mei",
    "yuki",
    "priya",
    "olga",
    "natasha",
    "ingrid",
    "sofia",
    "lucia",
    "chiara",
];

const SURNAMES: &[&str] = &[
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "torres",
    "nguyen",
    "hill",
    "flores",
    "green",
    "adams",
    "nelson",
    "baker",
    "hall",
    "rivera",
    "campbell",
    "mitchell",
    "carter",
    "roberts",
    "gomez",
    "phillips",
    "evans",
    "turner",
    "diaz",
    "parker",
    "cruz",
    "edwards",
    "collins",
    "reyes",
    "stewart",
    "morris",
    "morales",
    "murphy",
    "cook",
    "rogers",
    "gutierrez",
    "ortiz",
    "morgan",
    "cooper",
    "peterson",
    "bailey",
    "reed",
    "kelly",
    "howard",
    "ramos",
    "kim",
    "cox",
    "ward",
    "richardson",
    "watson",
    "brooks",
    "chavez",
    "wood",
    "james",
    "bennett",
    "gray",
    "mendoza",
    "ruiz",
    "hughes",
    "price",
    "alvarez",
    "castillo",
    "sanders",
    "patel",
    "myers",
    "long",
    "ross",
    "foster",
    "jimenez",
    "powell",
    "jenkins",
    "perry",
    "russell",
    "sullivan",
    "bell",
    "coleman",
    "butler",
    "henderson",
    "barnes",
    "gonzales",
    "fisher",
    "vasquez",
    "simmons",
    "romero",
    "jordan",
    "patterson",
    "alexander",
    "hamilton",
    "graham",
    "reynolds",
    "griffin",
    "wallace",
    "moreno",
    "west",
    "cole",
    "hayes",
    "bryant",
    "herrera",
    "gibson",
    "ellis",
    "tran",
    "medina",
    "aguilar",
    "stevens",
    "murray",
    "ford",
    "castro",
    "marshall",
    "owens",
    "harrison",
    "fernandez",
    "mcdonald",
    "woods",
    "washington",
    "kennedy",
    "wells",
    "vargas",
    "henry",
    "chen",
    "freeman",
    "webb",
    "tucker",
    "guzman",
    "burns",
    "crawford",
    "olson",
    "simpson",
    "porter",
    "hunter",
    "gordon",
    "mendez",
    "silva",
    "shaw",
    "snyder",
    "mason",
    "dixon",
    "munoz",
    "hunt",
    "hicks",
    "holmes",
    "palmer",
    "wagner",
    "black",
    "robertson",
    "boyd",
    "rose",
    "stone",
    "salazar",
    "fox",
    "warren",
    "mills",
    "meyer",
    "rice",
    "schmidt",
    "garza",
    "daniels",
    "ferguson",
    "nichols",
    "stephens",
    "soto",
    "weaver",
    "ryan",
    "gardner",
    "payne",
    "grant",
    "dunn",
    "kelley",
    "spencer",
    "hawkins",
    "arnold",
    "pierce",
    "vazquez",
    "hansen",
    "peters",
    "santos",
    "hart",
    "bradley",
    "knight",
    "elliott",
    "cunningham",
    "duncan",
    "armstrong",
    "hudson",
    "carroll",
    "lane",
    "riley",
    "andrews",
    "alvarado",
    "ray",
    "delgado",
    "berry",
    "perkins",
    "hoffman",
    "johnston",
    "matthews",
    "pena",
    "richards",
    "contreras",
    "willis",
    "carpenter",
    "lawrence",
    "sandoval",
    "guerrero",
    "george",
    "chapman",
    "rios",
    "estrada",
    "ortega",
    "watkins",
    "greene",
    "nunez",
    "wheeler",
    "valdez",
    "harper",
    "burke",
    "larson",
    "santiago",
    "maldonado",
    "morrison",
    "franklin",
    "carlson",
    "austin",
    "dominguez",
    "carr",
    "lawson",
    "jacobs",
    "obrien",
    "lynch",
    "singh",
    "vega",
    "bishop",
    "montgomery",
    "oliver",
    "jensen",
    "harvey",
    "williamson",
    "gilbert",
    "dean",
    "sims",
    "espinoza",
    "howell",
    "li",
    "wong",
    "reid",
    "hanson",
    "le",
    "mccoy",
    "garrett",
    "burton",
    "fuller",
    "wang",
    "weber",
    "welch",
    "rojas",
    "lucas",
    "marquez",
    "fields",
    "park",
    "yang",
    "little",
    "banks",
    "padilla",
    "day",
    "walsh",
    "bowman",
    "schultz",
    "luna",
    "fowler",
    "mejia",
    "davidson",
    "acosta",
    "brewer",
    "may",
    "holland",
    "juarez",
    "newman",
    "pearson",
    "curtis",
    "cortez",
    "douglas",
    "schneider",
    "joseph",
    "barrett",
    "navarro",
    "figueroa",
    "keller",
    "avila",
    "wade",
    "molina",
    "stanley",
    "hopkins",
    "campos",
    "barnett",
    "bates",
    "chambers",
    "caldwell",
    "beck",
    "lambert",
    "miranda",
    "byrd",
    "craig",
    "ayala",
    "lowe",
    "frazier",
    "powers",
    "neal",
    "leonard",
    "gregory",
    "carrillo",
    "sutton",
    "fleming",
    "rhodes",
    "shelton",
    "schwartz",
    "norris",
    "jennings",
    "watts",
    "duran",
    "walters",
    "cohen",
    "mcdaniel",
    "moran",
    "parks",
    "steele",
    "vaughn",
    "becker",
    "holt",
    "deleon",
    "barker",
    "terry",
    "hale",
    "leon",
    "hail",
    "benson",
    "haynes",
    "horton",
    "miles",
    "lyons",
    "pham",
    "graves",
    "bush",
    "thornton",
    "wolfe",
    "warner",
    "cabrera",
    "mckinney",
    "mann",
    "zimmerman",
    "dawson",
    "lara",
    "fletcher",
    "page",
    "mccarthy",
    "love",
    "robles",
    "cervantes",
    "solis",
    "erickson",
    "reeves",
    "chang",
    "klein",
    "salinas",
    "fuentes",
    "baldwin",
    "daniel",
    "simon",
    "velasquez",
    "hardy",
    "higgins",
    "aguirre",
    "lin",
    "cummings",
    "chandler",
    "sharp",
    "barber",
    "bowen",
    "ochoa",
    "dennis",
    "robbins",
    "liu",
    "ramsey",
    "francis",
    "griffith",
    "paul",
    "blair",
    "oconnor",
    "cardenas",
    "pacheco",
    "cross",
    "calderon",
    "quinn",
    "moss",
    "swanson",
    "chan",
    "rivas",
    "khan",
    "rodgers",
    "serrano",
    "fitzgerald",
    "rosales",
    "stevenson",
    "christensen",
    "manning",
    "gill",
    "curry",
    "mclaughlin",
    "harmon",
    "mcgee",
    "gross",
    "doyle",
    "garner",
    "newton",
    "burgess",
    "reese",
    "walton",
    "blake",
    "trujillo",
    "adkins",
    "brady",
    "goodman",
    "roman",
    "webster",
    "goodwin",
    "fischer",
    "huang",
    "potter",
    "delacruz",
    "montoya",
    "todd",
    "wu",
    "hines",
    "mullins",
    "castaneda",
    "malone",
    "cannon",
    "tate",
    "mack",
    "sherman",
    "hubbard",
    "hodges",
    "zhang",
    "guerra",
    "wolf",
    "valencia",
    "franco",
    "saunders",
    "rowe",
    "gallagher",
    "farmer",
    "hammond",
    "hampton",
    "townsend",
    "ingram",
    "wise",
    "gallegos",
    "clarke",
    "barton",
    "schroeder",
    "maxwell",
    "waters",
    "logan",
    "camacho",
    "strickland",
    "norman",
    "person",
    "colon",
    "parsons",
    "frank",
    "harrington",
    "glover",
    "osborne",
    "buchanan",
    "casey",
    "floyd",
    "patton",
    "ibarra",
    "ball",
    "tyler",
    "suarez",
    "bowers",
    "orozco",
    "salas",
    "cobb",
    "gibbs",
    "andrade",
    "bauer",
    "conner",
    "moody",
    "escobar",
    "mcguire",
    "lloyd",
    "mueller",
    "hartman",
    "french",
    "kramer",
    "mcbride",
    "pope",
    "lindsey",
    "velazquez",
    "norton",
    "mccormick",
    "sparks",
    "flynn",
    "yates",
    "hogan",
    "marsh",
    "macias",
    "villanueva",
    "zamora",
    "pratt",
    "stokes",
    "owen",
    "ballard",
    "lang",
    "brock",
    "villarreal",
    "charles",
    "drake",
    "barrera",
    "cain",
    "patrick",
    "pineda",
    "burnett",
    "mercado",
    "santana",
    "shepherd",
    "bautista",
    "ali",
    "shaffer",
    "lamb",
    "trevino",
    "mckenzie",
    "hess",
    "beil",
    "olsen",
    "cochran",
    "morton",
    "nash",
    "wilkins",
    "petersen",
    "briggs",
    "shah",
    "roth",
    "nicholson",
    "holloway",
    "lozano",
    "rangel",
    "flowers",
    "hoover",
    "short",
    "arias",
    "mora",
    "valenzuela",
    "bryan",
    "meyers",
    "weiss",
    "underwood",
    "bass",
    "greer",
    "summers",
    "houston",
    "carson",
    "morrow",
    "clayton",
    "whitaker",
    "decker",
    "yoder",
    "collier",
    "zuniga",
    "carey",
    "wilcox",
    "melendez",
    "poole",
    "roberson",
    "larsen",
    "conley",
    "davenport",
    "copeland",
    "massey",
    "lam",
    "huff",
    "rocha",
    "cameron",
    "jefferson",
    "hood",
    "monroe",
    "anthony",
    "pittman",
    "huynh",
    "randall",
    "singleton",
    "kirk",
    "combs",
    "mathis",
    "christian",
    "skinner",
    "bradford",
    "richard",
    "galvan",
    "wall",
    "boone",
    "kirby",
    "wilkinson",
    "bridges",
    "bruce",
    "atkinson",
    "velez",
    "meza",
    "roy",
    "vincent",
    "york",
    "hodge",
    "villa",
    "abbott",
    "allison",
    "tapia",
    "gates",
    "chase",
    "sosa",
    "sweeney",
    "farrell",
    "wyatt",
    "dalton",
    "horn",
    "barron",
    "phelps",
    "yu",
    "dickerson",
    "heath",
    "foley",
    "atkins",
    "mathews",
    "bonilla",
    "acevedo",
    "benitez",
    "zavala",
    "hensley",
    "glenn",
    "cisneros",
    "harrell",
    "shields",
    "rubio",
    "choi",
    "huffman",
    "boyer",
    "garrison",
    "arroyo",
    "bond",
    "kane",
    "hancock",
    "callahan",
    "dillon",
    "cline",
    "wiggins",
    "grimes",
    "arellano",
    "melton",
    "oneill",
    "savage",
    "ho",
    "beltran",
    "pitts",
    "parrish",
    "ponce",
    "rich",
    "booth",
    "koch",
    "golden",
    "ware",
    "brennan",
    "mcdowell",
    "marks",
    "cantu",
    "humphrey",
    "baxter",
    "sawyer",
    "clay",
    "tanner",
    "hutchinson",
    "kaur",
    "berg",
    "wiley",
    "gilmore",
    "russo",
    "villegas",
    "hobbs",
    "keith",
    "wilkerson",
    "ahmed",
    "beard",
    "mcclain",
    "montes",
    "mata",
    "rosario",
    "vang",
    "walter",
    "henson",
    "oneal",
    "mosley",
    "mcclure",
    "beasley",
    "stephenson",
    "snow",
    "huerta",
    "preston",
    "vance",
    "barry",
    "johns",
    "eaton",
    "blackwell",
    "dyer",
    "prince",
    "macdonald",
    "solomon",
    "guevara",
    "stafford",
    "english",
    "hurst",
    "woodard",
    "cortes",
    "shannon",
    "kemp",
    "nolan",
    "mccullough",
    "merritt",
    "murillo",
    "moon",
    "salgado",
    "strong",
    "kline",
    "cordova",
    "barajas",
    "roach",
    "rosas",
    "winters",
    "jacobson",
    "lester",
    "knox",
    "bullock",
    "kerr",
    "leach",
    "meadows",
    "orr",
    "davila",
    "whitehead",
    "pruitt",
    "kent",
    "conway",
    "mckee",
    "barr",
    "david",
    "dejesus",
    "marin",
    "berger",
    "mcintyre",
    "blankenship",
    "gaines",
    "palacios",
    "cuevas",
    "bartlett",
    "durham",
    "dorsey",
    "mccall",
    "odonnell",
    "stein",
    "browning",
    "stout",
    "lowery",
    "sloan",
    "mclean",
    "hendricks",
    "calhoun",
    "sexton",
    "chung",
    "gentry",
    "hull",
    "duarte",
    "ellison",
    "nielsen",
    "gillespie",
    "buck",
    "middleton",
    "sellers",
    "leblanc",
    "esparza",
    "hardin",
    "bradshaw",
    "mcintosh",
    "howe",
    "livingston",
    "frost",
    "glass",
    "morse",
    "knapp",
    "herman",
    "stark",
    "bravo",
    "noble",
    "spears",
    "weeks",
    "corona",
    "frederick",
    "buckley",
    "mcfarland",
    "hebert",
    "enriquez",
    "hickman",
    "quintero",
    "randolph",
    "schaefer",
    "walls",
    "trejo",
    "house",
    "reilly",
    "pennington",
    "michael",
    "conrad",
    "giles",
    "benjamin",
    "crosby",
    "fitzpatrick",
    "donovan",
    "mays",
    "mahoney",
    "valentine",
    "raymond",
    "medrano",
    "hahn",
    "mcmillan",
    "small",
    "bentley",
    "felix",
    "peck",
    "lucero",
    "boyle",
    "hanna",
    "pace",
    "rush",
    "hurley",
    "harding",
    "mcconnell",
    "bernal",
    "nava",
    "ayers",
    "everett",
    "ventura",
    "avery",
    "pugh",
    "mayer",
    "bender",
    "shepard",
    "mcmahon",
    "landry",
    "case",
    "sampson",
    "moses",
    "magana",
    "blackburn",
    "dunlap",
    "gould",
    "duffy",
    "vaughan",
    "herring",
    "mckay",
    "espinosa",
    "rivers",
    "farley",
    "bernard",
    "ashley",
    "friedman",
    "potts",
    "truong",
    "costa",
    "correa",
    "blevins",
    "nixon",
    "clements",
    "fry",
    "delarosa",
    "best",
    "benton",
    "lugo",
    "portillo",
    "dougherty",
    "crane",
    "haley",
    "phan",
    "villalobos",
    "blanchard",
    "horne",
    "finley",
    "quintana",
    "lynn",
    "esquivel",
    "bean",
    "dodson",
    "mullen",
    "xiong",
    "hayden",
    "cano",
    "levy",
    "huber",
    "richmond",
    "moyer",
    "lim",
    "frye",
    "sheppard",
    "mccarty",
    "avalos",
    "booker",
    "waller",
    "parra",
    "woodward",
    "jaramillo",
    "krueger",
    "rasmussen",
    "brandt",
    "peralta",
    "donaldson",
    "stuart",
    "faulkner",
    "maynard",
    "galindo",
    "coffey",
    "estes",
    "sanford",
    "burch",
    "maddox",
    "vo",
    "oconnell",
    "vu",
    "andersen",
    "spence",
    "mcpherson",
    "church",
    "schmitt",
    "stanton",
    "leal",
    "cherry",
    "compton",
    "dudley",
    "sierra",
    "pollard",
    "alfaro",
    "hester",
    "proctor",
    "lu",
    "hinton",
    "novak",
    "good",
    "madden",
    "mccann",
    "terrell",
    "jarvis",
    "dickson",
    "reyna",
    "cantrell",
    "mayo",
    "branch",
    "hendrix",
    "rollins",
    "rowland",
    "whitney",
    "duke",
    "odom",
    "daugherty",
    "travis",
    "tang",
    "archer",
];

const ONSETS: &[&str] = &[
    "b", "br", "c", "ch", "cl", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n", "p", "pr", "r", "s",
    "sh", "st", "t", "tr", "v", "w", "z", "bl", "fl", "sl", "th",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ae", "ai", "ee", "ou", "y", "ia", "io"];
const CODAS: &[&str] =
    &["", "n", "r", "l", "s", "t", "ck", "nd", "rt", "ll", "m", "rn", "sk", "v", "z", "ng", "x", "ff"];
const SUFFIXES: &[&str] = &[
    "son", "ton", "man", "er", "ley", "field", "wood", "berg", "stein", "ski", "ova", "ez", "ini", "opoulos", "ford",
    "well", "by", "more", "ham", "worth", "ridge", "dale", "en", "ing", "ard", "ett", "kin", "sen",
];

const STREET_WORDS: &[&str] = &[
    "oak",
    "maple",
    "cedar",
    "pine",
    "elm",
    "willow",
    "birch",
    "aspen",
    "spruce",
    "walnut",
    "chestnut",
    "hickory",
    "park",
    "lake",
    "hill",
    "river",
    "spring",
    "meadow",
    "forest",
    "sunset",
    "highland",
    "valley",
    "church",
    "main",
    "washington",
    "lincoln",
    "jefferson",
    "madison",
    "franklin",
    "jackson",
    "adams",
    "grant",
    "mill",
    "school",
    "center",
    "north",
    "south",
    "east",
    "west",
    "ridge",
    "prospect",
    "union",
    "liberty",
    "market",
    "broad",
    "water",
    "bridge",
    "railroad",
    "cherry",
    "laurel",
    "magnolia",
    "dogwood",
    "holly",
    "juniper",
    "fairview",
    "woodland",
    "greenwood",
    "lakeview",
    "hillcrest",
    "riverside",
    "orchard",
    "summit",
    "harbor",
    "mullaly",
    "derek",
    "frederick",
    "cochran",
    "sellers",
    "mcteague",
    "dinan",
    "alice",
    "monaghan",
    "farrell",
];
const STREET_TYPES: &[(&str, &str)] = &[
    ("street", "st"),
    ("road", "rd"),
    ("avenue", "ave"),
    ("drive", "dr"),
    ("lane", "ln"),
    ("court", "ct"),
    ("place", "pl"),
    ("crescent", "cres"),
    ("boulevard", "blvd"),
    ("terrace", "ter"),
    ("way", "way"),
    ("circle", "cir"),
    ("parkway", "pkwy"),
    ("highway", "hwy"),
    ("crest", "crst"),
    ("haven", "hvn"),
    ("square", "sq"),
    ("trail", "trl"),
    ("walk", "walk"),
    ("heights", "hts"),
];
const TOWN_SUFFIXES: &[&str] = &[
    "ville", "ton", "burg", "berg", "field", "port", "ford", "wood", "dale", "haven", " city", " springs", "mouth",
    "stad", "chester", " falls", " heights", "view",
];
const STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME",
    "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA",
    "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
];
const STATE_WEIGHTS_TOP: &[&str] = &["CA", "TX", "FL", "NY", "PA", "IL", "OH", "GA", "NC", "MI"];
const DOMAINS: &[&str] = &[
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "aol.com",
    "icloud.com",
    "proton.me",
    "mail.com",
    "comcast.net",
];
const AGENCIES: &[&str] = &[
    "bookings@sunsettravel.com",
    "reservations@globetrotters-agency.com",
    "tickets@corporatetravel.biz",
    "groups@skyhightours.com",
    "frontdesk@marriottsuites.com",
];
const CALL_CENTRES: &[&str] = &["8005550100", "8885550199", "8775550123", "8665550142"];
const PLACEHOLDER_EMAILS: &[&str] = &["noemail@gammaairways.com", "none@none.com", "na@na.com", "test@test.com"];
const PLACEHOLDER_PHONES: &[&str] = &["0000000000", "1234567890", "9999999999"];

/// Keyboard-neighbour and OCR-like confusions.
const CONFUSIONS: &[(&str, &str)] = &[
    ("m", "rn"),
    ("rn", "m"),
    ("cl", "d"),
    ("d", "cl"),
    ("vv", "w"),
    ("w", "vv"),
    ("i", "l"),
    ("l", "i"),
    ("e", "c"),
    ("o", "a"),
    ("a", "o"),
    ("u", "v"),
    ("h", "b"),
    ("n", "h"),
];

#[derive(Debug, Clone)]
struct Address {
    number: u32,
    word: usize,
    street_type: usize,
    town: usize,
}

#[derive(Debug, Clone)]
struct Truth {
    given: String,
    family: String,
    dob: (u32, u32, u32),
    address: Address,
    ssn: String,
    email: String,
    phone: String,
    landline: Option<String>,
    family_email: Option<String>,
}

struct Towns {
    names: Vec<String>,
    state: Vec<&'static str>,
    postcode: Vec<u32>,
}

fn synthetic_surname(rng: &mut Rng) -> String {
    let mut s = String::new();
    s.push_str(rng.pick(ONSETS));
    s.push_str(rng.pick(VOWELS));
    s.push_str(rng.pick(CODAS));
    if rng.chance(0.5) {
        s.push_str(rng.pick(ONSETS));
        s.push_str(rng.pick(VOWELS));
    }
    s.push_str(rng.pick(SUFFIXES));
    s
}

fn towns(rng: &mut Rng, n: usize) -> Towns {
    let mut t = Towns { names: Vec::with_capacity(n), state: Vec::with_capacity(n), postcode: Vec::with_capacity(n) };
    for _ in 0..n {
        let base = if rng.chance(0.5) { rng.pick(SURNAMES).to_string() } else { synthetic_surname(rng) };
        let name = format!("{base}{}", rng.pick(TOWN_SUFFIXES));
        let name = if rng.chance(0.15) {
            format!("{} {name}", rng.pick(&["north", "south", "east", "west", "lake", "port", "new"]))
        } else {
            name
        };
        t.names.push(name);
        t.state.push(if rng.chance(0.5) { rng.pick(STATE_WEIGHTS_TOP) } else { rng.pick(STATES) });
        t.postcode.push(rng.range(1001, 99950));
    }
    t
}

fn new_address(rng: &mut Rng, towns: &Towns) -> Address {
    let number = if rng.chance(0.7) { rng.range(1, 199) } else { rng.range(200, 9999) };
    Address {
        number,
        word: rng.zipf(STREET_WORDS.len() + 400, 0.6),
        street_type: rng.zipf(STREET_TYPES.len(), 0.9),
        town: rng.zipf(towns.names.len(), 0.8),
    }
}

fn street_word(w: usize) -> String {
    if w < STREET_WORDS.len() {
        STREET_WORDS[w].to_string()
    } else {
        // Streets named after people: a surname-like word, reproducible from the index.
        let mut r = Rng::new(w as u64 * 7919);
        if r.chance(0.5) {
            SURNAMES[r.below(SURNAMES.len())].to_string()
        } else {
            synthetic_surname(&mut r)
        }
    }
}

fn new_phone(rng: &mut Rng) -> String {
    format!("{}{}{:04}", rng.range(201, 989), rng.range(200, 999), rng.range(0, 9999))
}

fn new_ssn(rng: &mut Rng) -> String {
    format!("{:03}{:02}{:04}", rng.range(1, 899), rng.range(1, 99), rng.range(1, 9999))
}

fn email_for(rng: &mut Rng, given: &str, family: &str, used: &mut HashSet<String>) -> String {
    let domain = rng.pick(DOMAINS);
    let local = match rng.below(7) {
        0 => format!("{given}.{family}"),
        1 => format!("{given}{family}"),
        2 => format!("{given}_{family}"),
        3 => format!("{}{family}", &given[..1]),
        4 => format!("{given}.{family}{}", rng.range(1, 99)),
        5 => format!("{given}{}", rng.range(1, 999)),
        _ => format!("{family}.{given}"),
    };
    // Mailboxes are unique: a taken address gets a number, as the provider would insist.
    let mut email = format!("{local}@{domain}");
    while !used.insert(email.clone()) {
        email = format!("{local}{}@{domain}", rng.range(1, 9999));
    }
    email
}

fn person(
    rng: &mut Rng,
    towns: &Towns,
    family: Option<&str>,
    address: Option<&Address>,
    age: Option<(u32, u32)>,
    used: &mut HashSet<String>,
) -> Truth {
    let female = rng.chance(0.5);
    let given = if female { FEMALE[rng.zipf(FEMALE.len(), 0.9)] } else { MALE[rng.zipf(MALE.len(), 0.9)] };
    let family = match family {
        Some(f) => f.to_string(),
        None if rng.chance(0.65) => SURNAMES[rng.zipf(SURNAMES.len(), 0.75)].to_string(),
        None => synthetic_surname(rng),
    };
    let (lo, hi) = age.unwrap_or((1935, 2006));
    let dob = (rng.range(lo, hi), rng.range(1, 12), rng.range(1, 28));
    let email = email_for(rng, given, &family, used);
    Truth {
        given: given.to_string(),
        email,
        dob,
        address: address.cloned().unwrap_or_else(|| new_address(rng, towns)),
        ssn: new_ssn(rng),
        phone: new_phone(rng),
        family,
        landline: None,
        family_email: None,
    }
}

fn typo(rng: &mut Rng, s: &str) -> String {
    if s.len() < 2 {
        return s.to_string();
    }
    let b: Vec<char> = s.chars().collect();
    let i = rng.below(b.len());
    let mut out: Vec<char> = b.clone();
    match rng.below(5) {
        0 => {
            out[i] = (b'a' + rng.below(26) as u8) as char;
        }
        1 => {
            out.remove(i);
        }
        2 => out.insert(i, (b'a' + rng.below(26) as u8) as char),
        3 if i + 1 < b.len() => out.swap(i, i + 1),
        _ => {
            let (from, to) = CONFUSIONS[rng.below(CONFUSIONS.len())];
            let s2: String = b.iter().collect();
            if let Some(pos) = s2.find(from) {
                let mut r = s2.clone();
                r.replace_range(pos..pos + from.len(), to);
                return r;
            }
            out[i] = (b'a' + rng.below(26) as u8) as char;
        }
    }
    out.into_iter().collect()
}

fn digit_typo(rng: &mut Rng, s: &str) -> String {
    if s.is_empty() {
        return s.to_string();
    }
    let mut b: Vec<u8> = s.bytes().collect();
    let i = rng.below(b.len());
    match rng.below(4) {
        0 => b[i] = b'0' + rng.below(10) as u8,
        1 if i + 1 < b.len() => b.swap(i, i + 1),
        2 => b.insert(i, b'0' + rng.below(10) as u8),
        _ => {
            b.remove(i);
        }
    }
    String::from_utf8(b).expect("digits")
}

fn nickname(rng: &mut Rng, given: &str) -> Option<&'static str> {
    let options: Vec<&'static str> = cmp_core::resolve::normalize::nicknames()
        .iter()
        .filter(|(_, formal)| *formal == given)
        .map(|(n, _)| *n)
        .collect();
    (!options.is_empty()).then(|| options[rng.below(options.len())])
}

fn format_phone(rng: &mut Rng, p: &str) -> String {
    if p.len() != 10 {
        return p.to_string();
    }
    match rng.below(10) {
        0 => format!("({}) {}-{}", &p[..3], &p[3..6], &p[6..]),
        1 => format!("{}-{}-{}", &p[..3], &p[3..6], &p[6..]),
        2 => format!("+1 {} {} {}", &p[..3], &p[3..6], &p[6..]),
        3 => format!("1{p}"),
        _ => p.to_string(),
    }
}

fn format_dob(d: (u32, u32, u32)) -> String {
    format!("{:04}{:02}{:02}", d.0, d.1, d.2)
}

struct Damage {
    scale: f64,
}

impl Damage {
    fn p(&self, x: f64) -> f64 {
        (x * self.scale).min(1.0)
    }
}

/// One record of a person. `first`: the person's first record (clean, as a well-kept source
/// holds it); later records are damaged.
fn record(
    rng: &mut Rng,
    t: &mut Truth,
    towns: &Towns,
    first: bool,
    d: &Damage,
    shared: &mut SharedPicker,
) -> [String; 11] {
    let dmg = |rng: &mut Rng, p: f64| !first && rng.chance(d.p(p));
    // Life events between records: moves, new phones and e-mails.
    if dmg(rng, 0.12) {
        t.address = new_address(rng, towns);
    }
    if dmg(rng, 0.10) {
        t.phone = new_phone(rng);
    }
    if dmg(rng, 0.08) {
        let (g, f) = (t.given.clone(), t.family.clone());
        t.email = email_for(rng, &g, &f, &mut shared.used);
    }
    let mut given = t.given.clone();
    let mut family = t.family.clone();
    if dmg(rng, 0.10) {
        if let Some(n) = nickname(rng, &given) {
            given = n.to_string();
        }
    }
    if dmg(rng, 0.12) {
        given = typo(rng, &given);
    }
    if dmg(rng, 0.12) {
        family = typo(rng, &family);
    }
    if dmg(rng, 0.02) {
        given = given[..1].to_string();
    }
    if dmg(rng, 0.04) {
        std::mem::swap(&mut given, &mut family);
    }
    let mut dob = format_dob(t.dob);
    if dmg(rng, 0.04) && t.dob.2 <= 12 {
        dob = format_dob((t.dob.0, t.dob.2, t.dob.1));
    }
    if dmg(rng, 0.06) {
        dob = digit_typo(rng, &dob);
    }
    let a = &t.address;
    let (long, short) = STREET_TYPES[a.street_type];
    let st = if rng.chance(0.3) { short } else { long };
    let mut address = format!("{} {st}", street_word(a.word));
    if dmg(rng, 0.06) {
        address = typo(rng, &address);
    }
    let mut number = a.number.to_string();
    if dmg(rng, 0.03) {
        number = digit_typo(rng, &number);
    }
    let mut city = towns.names[a.town].clone();
    if dmg(rng, 0.05) {
        city = typo(rng, &city);
    }
    let mut postcode = format!("{:05}", towns.postcode[a.town] + (a.word % 7) as u32);
    if dmg(rng, 0.04) {
        postcode = digit_typo(rng, &postcode);
    }
    let state = towns.state[a.town].to_string();
    let mut ssn = if rng.chance(if first { 0.5 } else { 0.3 }) { t.ssn.clone() } else { String::new() };
    if dmg(rng, 0.03) {
        ssn = digit_typo(rng, &ssn);
    }
    let mut email = match &t.family_email {
        Some(fe) if rng.chance(0.4) => fe.clone(),
        _ => t.email.clone(),
    };
    if dmg(rng, 0.03) {
        email = typo(rng, &email);
    }
    if !first && rng.chance(0.05) {
        // Formatting the source system applied: capitals, a plus-tag, dots at Gmail.
        email = match rng.below(3) {
            0 => email.to_uppercase(),
            1 => email.replacen('@', "+travel@", 1),
            _ if email.ends_with("@gmail.com") => email.replacen('.', "", 1),
            _ => email,
        };
    }
    let mut phone = match &t.landline {
        Some(l) if rng.chance(0.5) => l.clone(),
        _ => t.phone.clone(),
    };
    if dmg(rng, 0.03) {
        phone = digit_typo(rng, &phone);
    }
    let phone = format_phone(rng, &phone);
    let mut v = [given, family, dob, number, address, city, postcode, state, ssn, email, phone];
    // Missing fields.
    let missing = [0.02, 0.02, 0.06, 0.08, 0.03, 0.04, 0.03, 0.0, 0.0, 0.25, 0.30];
    for (i, p) in missing.iter().enumerate() {
        if rng.chance(if first { p / 2.0 } else { d.p(*p) }) {
            v[i].clear();
        }
    }
    // Shared identifiers: a travel agency's or call centre's details, or a placeholder.
    shared.apply(rng, &mut v);
    v
}

struct SharedPicker {
    /// Every personal e-mail handed out (mailboxes are unique).
    used: HashSet<String>,
}

impl SharedPicker {
    fn apply(&mut self, rng: &mut Rng, v: &mut [String; 11]) {
        if rng.chance(0.004) {
            v[9] = rng.pick(AGENCIES).to_string();
        } else if rng.chance(0.003) {
            v[9] = rng.pick(PLACEHOLDER_EMAILS).to_string();
        }
        if rng.chance(0.003) {
            v[10] = rng.pick(CALL_CENTRES).to_string();
        } else if rng.chance(0.003) {
            v[10] = rng.pick(PLACEHOLDER_PHONES).to_string();
        }
        if rng.chance(0.001) {
            v[8] = "000000000".to_string();
        }
    }
}

/// Records per person: 1 (35 %), 2 (27 %), 3 (17 %), 4 (11 %), 5 (10 %); mean 2.34.
fn records_per_person(rng: &mut Rng) -> usize {
    let x = rng.below(100);
    match x {
        0..=34 => 1,
        35..=61 => 2,
        62..=78 => 3,
        79..=89 => 4,
        _ => 5,
    }
}

/// Generates `opts.people` people and their records.
pub fn generate(opts: &Options) -> Generated {
    let mut rng = Rng::new(opts.seed);
    let towns = towns(&mut rng, (opts.people / 40).clamp(50, 20_000));
    let d = Damage { scale: opts.damage };
    let mut shared = SharedPicker { used: HashSet::new() };
    let mut rows = Vec::with_capacity(opts.people * 5 / 2);
    let mut id = 0usize;
    while id < opts.people {
        // A household: one person (70 %), or 2–4 sharing surname, address, often a landline and
        // sometimes an e-mail.
        let size = if rng.chance(0.7) { 1 } else { 2 + rng.below(3) }.min(opts.people - id);
        let mut members: Vec<Truth> = Vec::with_capacity(size);
        let head = person(&mut rng, &towns, None, None, Some((1935, 1990)), &mut shared.used);
        let landline = rng.chance(0.4).then(|| new_phone(&mut rng));
        let family_email = rng.chance(0.3).then(|| {
            let f = head.family.clone();
            let domain = rng.pick(DOMAINS);
            let mut e = format!("the{f}s@{domain}");
            while !shared.used.insert(e.clone()) {
                e = format!("the{f}s{}@{domain}", rng.range(1, 9999));
            }
            e
        });
        members.push(head);
        for k in 1..size {
            let h = &members[0];
            let (family, address) = (h.family.clone(), h.address.clone());
            let twin = k == 2 && rng.chance(0.05);
            let age = if k == 1 {
                Some((h.dob.0.saturating_sub(6), h.dob.0 + 6))
            } else {
                Some((h.dob.0 + 18, h.dob.0 + 40))
            };
            let same_family = rng.chance(0.85);
            let mut m =
                person(&mut rng, &towns, same_family.then_some(family.as_str()), Some(&address), age, &mut shared.used);
            if twin {
                m.dob = members[1].dob;
            }
            members.push(m);
        }
        if size > 1 {
            for m in members.iter_mut() {
                m.landline = landline.clone();
                m.family_email = family_email.clone();
            }
        }
        for mut m in members {
            let n = records_per_person(&mut rng);
            for k in 0..n {
                let values = record(&mut rng, &mut m, &towns, k == 0, &d, &mut shared);
                rows.push(Row { rec_id: format!("rec-{id}-{k}"), cluster_id: id.to_string(), values });
            }
            id += 1;
        }
    }
    if opts.shuffle {
        let mut r = Rng::new(opts.seed ^ 0xA5A5);
        for i in (1..rows.len()).rev() {
            let j = r.below(i + 1);
            rows.swap(i, j);
        }
    }
    Generated { rows, people: id }
}

/// Writes generated records as CSV with [`HEADER`].
pub fn write_csv<W: std::io::Write>(w: W, rows: &[Row]) -> Result<(), String> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(HEADER).map_err(|e| e.to_string())?;
    for r in rows {
        out.write_record(
            std::iter::once(r.rec_id.as_str()).chain(std::iter::once(r.cluster_id.as_str())).chain(r.fields()),
        )
        .map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_realistic() {
        let a = generate(&Options { people: 2000, seed: 7, ..Default::default() });
        let b = generate(&Options { people: 2000, seed: 7, ..Default::default() });
        assert_eq!(a.rows, b.rows, "same seed, same data");
        let c = generate(&Options { people: 2000, seed: 8, ..Default::default() });
        assert_ne!(a.rows, c.rows);
        assert_eq!(a.people, 2000);
        let n = a.rows.len() as f64;
        assert!((1.9..2.8).contains(&(n / 2000.0)), "records per person {}", n / 2000.0);
        // Some damage, some missing values, some shared identifiers.
        let mut per: std::collections::HashMap<&str, Vec<&Row>> = std::collections::HashMap::new();
        for r in &a.rows {
            per.entry(&r.cluster_id).or_default().push(r);
        }
        let sizes: Vec<usize> = per.values().map(|v| v.len()).collect();
        assert!(sizes.iter().all(|&s| (1..=5).contains(&s)));
        let differing_names = per.values().filter(|v| v.iter().any(|r| r.values[1] != v[0].values[1])).count();
        assert!(differing_names > 100, "{differing_names}");
        assert!(a.rows.iter().filter(|r| r.values[9].is_empty()).count() as f64 > 0.1 * n);
        assert!(a.rows.iter().any(|r| AGENCIES.contains(&r.values[9].as_str())));
        let mut buf = Vec::new();
        write_csv(&mut buf, &a.rows[..3]).unwrap();
        assert!(String::from_utf8(buf).unwrap().starts_with("rec_id,cluster_id,given_name"));
    }
}
