//! Special-meal codes (IATA SSR meal codes) and what they reveal.
//!
//! Several codes reveal a religious belief (kosher, Muslim, Hindu, Jain, and the vegetarian meals of
//! Asian religious traditions) or a health condition (diabetic, gluten-free, low-salt, low-lactose,
//! bland, low-fat, low-calorie): special categories of personal data under GDPR Art. 9. They are
//! treated like special assistance: shown only to the roles that serve or cater for the passenger,
//! never in marketing or analyst outputs, never a segment criterion. A code this table does not know
//! is treated as special category (fail closed).
use serde::Serialize;

/// What a meal code says about the passenger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MealCategory {
    /// A preference that reveals nothing of Art. 9 (vegan, vegetarian, child, seafood, ...).
    Ordinary,
    /// Reveals (or strongly suggests) a religious belief: GDPR Art. 9(1).
    ReligiousBelief,
    /// Reveals a health condition (diabetes, coeliac disease, hypertension, lactose intolerance,
    /// ulcers, ...): data concerning health, GDPR Art. 9(1).
    Health,
    /// Not a code this platform knows: treated as special category.
    Unknown,
}

/// Every code the event schemas accept (`schemas/common.schema.json#/$defs/meal`) with its category
/// and meaning.
pub const MEAL_CODES: &[(&str, MealCategory, &str)] = &[
    ("AVML", MealCategory::ReligiousBelief, "Asian (Hindu) vegetarian"),
    ("BBML", MealCategory::Ordinary, "baby meal"),
    ("BLML", MealCategory::Health, "bland meal (gastric conditions)"),
    ("CHML", MealCategory::Ordinary, "child meal"),
    ("DBML", MealCategory::Health, "diabetic meal"),
    ("FPML", MealCategory::Ordinary, "fruit platter"),
    ("GFML", MealCategory::Health, "gluten-free meal (coeliac disease)"),
    ("HNML", MealCategory::ReligiousBelief, "Hindu meal"),
    ("KSML", MealCategory::ReligiousBelief, "kosher meal"),
    ("LCML", MealCategory::Health, "low-calorie meal"),
    ("LFML", MealCategory::Health, "low-fat, low-cholesterol meal"),
    ("LSML", MealCategory::Health, "low-salt meal"),
    ("MOML", MealCategory::ReligiousBelief, "Muslim meal"),
    ("NLML", MealCategory::Health, "low-lactose meal"),
    ("RVML", MealCategory::Ordinary, "raw vegetarian meal"),
    ("SFML", MealCategory::Ordinary, "seafood meal"),
    ("VGML", MealCategory::Ordinary, "vegan meal"),
    ("VJML", MealCategory::ReligiousBelief, "Jain vegetarian meal"),
    ("VLML", MealCategory::Ordinary, "vegetarian lacto-ovo meal"),
    ("VOML", MealCategory::ReligiousBelief, "vegetarian oriental (Buddhist) meal"),
];

/// The category of a meal code.
pub fn category(code: &str) -> MealCategory {
    MEAL_CODES.iter().find(|(c, _, _)| *c == code).map_or(MealCategory::Unknown, |(_, k, _)| *k)
}

/// Does the code reveal special-category data (or is it unknown)?
pub fn is_special_category(code: &str) -> bool {
    category(code) != MealCategory::Ordinary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn religious_and_health_meals_are_special_category() {
        for code in ["KSML", "MOML", "HNML", "VJML", "AVML"] {
            assert_eq!(category(code), MealCategory::ReligiousBelief, "{code}");
        }
        for code in ["DBML", "GFML", "LSML", "NLML", "LCML", "LFML", "BLML"] {
            assert_eq!(category(code), MealCategory::Health, "{code}");
        }
        for code in ["VGML", "VLML", "CHML", "BBML", "SFML", "FPML", "RVML"] {
            assert!(!is_special_category(code), "{code}");
        }
        assert!(is_special_category("XXML"), "unknown codes fail closed");
    }

    #[test]
    fn every_code_the_schemas_accept_is_classified() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/common.schema.json");
        let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let accepted: Vec<&str> =
            schema["$defs"]["meal"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let known: Vec<&str> = MEAL_CODES.iter().map(|(c, _, _)| *c).collect();
        assert_eq!(accepted, known);
    }
}
