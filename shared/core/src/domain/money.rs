//! Amounts of money: ISO 4217 currencies and their minor units.
//!
//! An amount travels in the currency's major unit (`149.99` EUR); it may carry at most as many
//! decimal places as the currency has minor units (ISO 4217 "E" column): none for JPY or KRW,
//! two for EUR, three for KWD or BHD. The table lists the active codes of ISO 4217 List One
//! (amendment 179, 2024); a code not in it is refused.
use super::event::FieldError;
use serde_json::Value;

/// Active ISO 4217 codes with a number of minor units other than two.
const MINOR_UNITS_NOT_TWO: &[(&str, u32)] = &[
    // no minor unit
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    // three
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    // four
    ("CLF", 4),
    ("UYW", 4),
];

/// Active ISO 4217 codes with two minor units.
const MINOR_UNITS_TWO: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BMD", "BND",
    "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CNY", "COP", "COU",
    "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR",
    "KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU",
    "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS",
    "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD",
    "USN", "UYU", "UZS", "VES", "VED", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG",
];

/// The number of minor units of an active ISO 4217 currency, `None` for a code not in the standard.
pub fn minor_units(currency: &str) -> Option<u32> {
    MINOR_UNITS_NOT_TWO
        .iter()
        .find(|(c, _)| *c == currency)
        .map(|(_, n)| *n)
        .or_else(|| MINOR_UNITS_TWO.contains(&currency).then_some(2))
}

/// Does `amount` (in the major unit) fit the currency's minor units?
pub fn fits_minor_units(amount: f64, minor_units: u32) -> bool {
    let scaled = amount * 10f64.powi(minor_units as i32);
    scaled.is_finite() && (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
}

/// Checks a `money` object (`{"amount": .., "currency": ..}`, already valid against its schema) at
/// `path`: the currency is an ISO 4217 code, the amount has no more decimals than its minor units.
pub fn check(path: &str, money: &Value) -> Vec<FieldError> {
    let Some(currency) = money.get("currency").and_then(Value::as_str) else { return vec![] };
    let Some(amount) = money.get("amount").and_then(Value::as_f64) else { return vec![] };
    match minor_units(currency) {
        None => vec![FieldError::new(
            "unknown_currency",
            format!("{path}/currency"),
            "the currency is not an active ISO 4217 code",
        )],
        Some(n) if !fits_minor_units(amount, n) => vec![FieldError::new(
            "invalid_minor_units",
            format!("{path}/amount"),
            format!("this currency has {n} minor unit digits (ISO 4217); the amount has more decimals"),
        )],
        Some(_) => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_follow_their_currencys_minor_units() {
        assert!(check("/data/amount", &json!({"amount": 149.99, "currency": "EUR"})).is_empty());
        assert!(check("/data/amount", &json!({"amount": 0.1, "currency": "GBP"})).is_empty());
        assert!(check("/data/amount", &json!({"amount": 15000, "currency": "JPY"})).is_empty());
        assert!(check("/data/amount", &json!({"amount": 1.234, "currency": "KWD"})).is_empty());
        let jpy = check("/data/amount", &json!({"amount": 1500.5, "currency": "JPY"}));
        assert_eq!(jpy.len(), 1);
        assert_eq!((jpy[0].code.as_str(), jpy[0].path.as_str()), ("invalid_minor_units", "/data/amount/amount"));
        assert_eq!(check("/t", &json!({"amount": 10.001, "currency": "EUR"}))[0].code, "invalid_minor_units");
        assert_eq!(check("/t", &json!({"amount": 1.2345, "currency": "BHD"}))[0].code, "invalid_minor_units");
        assert_eq!(check("/t", &json!({"amount": 1, "currency": "XYZ"}))[0].code, "unknown_currency");
    }

    #[test]
    fn the_table_has_no_duplicates() {
        let mut all: Vec<&str> = MINOR_UNITS_TWO.to_vec();
        all.extend(MINOR_UNITS_NOT_TWO.iter().map(|(c, _)| *c));
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
        assert!(all.iter().all(|c| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase())));
    }
}
