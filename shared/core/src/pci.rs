//! PCI-DSS: primary account numbers never enter the platform. Free text (call notes, chat and
//! e-mail transcripts, complaint texts, item descriptions) is scrubbed of anything that looks like a
//! card number: 13 to 19 digits, optionally separated by single spaces or dashes, passing the Luhn
//! check. Structured identifiers (ticket numbers, phones) are not free text and are not touched.

pub const REDACTED: &str = "[card number removed]";

fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(*d);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// Replaces every card number in `text`; returns the scrubbed text and how many were removed.
pub fn redact(text: &str) -> (String, usize) {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut removed = 0;
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        // a candidate starts at a digit not preceded by a digit
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()) {
            // collect digits with single separators; remember where each digit count ends
            let mut digits = Vec::new();
            let mut ends = Vec::new();
            let mut j = i;
            while j < bytes.len() {
                if bytes[j].is_ascii_digit() {
                    digits.push(bytes[j] - b'0');
                    ends.push(j + 1);
                    j += 1;
                } else if (bytes[j] == b' ' || bytes[j] == b'-')
                    && j + 1 < bytes.len()
                    && bytes[j + 1].is_ascii_digit()
                    && j > i
                    && bytes[j - 1].is_ascii_digit()
                {
                    j += 1;
                } else {
                    break;
                }
                if digits.len() > 19 {
                    break;
                }
            }
            // the longest Luhn-valid run of 13..=19 digits starting here, not followed by a digit
            let mut matched = None;
            for n in (13..=digits.len().min(19)).rev() {
                let end = ends[n - 1];
                let followed_by_digit = end < bytes.len() && bytes[end].is_ascii_digit();
                if !followed_by_digit && luhn(&digits[..n]) {
                    matched = Some(end);
                    break;
                }
            }
            if let Some(end) = matched {
                out.push_str(&text[copied..i]);
                out.push_str(REDACTED);
                removed += 1;
                copied = end;
                i = end;
                continue;
            }
            // skip this run of digits
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    (out, removed)
}

/// Scrubs the free-form members of an event's `data` in place (those of
/// `customer.interaction_logged`: `summary`, `text`, `reference`, `items[].description`,
/// `items[].sku`). Identifiers (`customer.*`, ticket numbers, phones) are left to validation.
/// Returns how many card numbers were removed.
pub fn scrub_event(event: &mut serde_json::Value) -> usize {
    let mut removed = 0;
    let mut scrub = |v: &mut serde_json::Value| {
        if let Some(s) = v.as_str() {
            let (clean, n) = redact(s);
            if n > 0 {
                *v = serde_json::Value::String(clean);
                removed += n;
            }
        }
    };
    if let Some(data) = event.get_mut("data") {
        for key in ["summary", "text", "reference"] {
            if let Some(v) = data.get_mut(key) {
                scrub(v);
            }
        }
        if let Some(items) = data.get_mut("items").and_then(|i| i.as_array_mut()) {
            for item in items {
                for key in ["description", "sku"] {
                    if let Some(v) = item.get_mut(key) {
                        scrub(v);
                    }
                }
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_are_removed_in_any_common_spelling() {
        for (text, expect) in [
            ("my card is 4111111111111111 thanks", "my card is [card number removed] thanks"),
            ("Visa 4111 1111 1111 1111, exp 12/28", "Visa [card number removed], exp 12/28"),
            ("amex 3782-822463-10005.", "amex [card number removed]."),
            ("MC5555555555554444", "MC[card number removed]"),
            ("19 digits 6011111111111111110 end", "19 digits [card number removed] end"),
        ] {
            let (out, n) = redact(text);
            assert_eq!(out, expect, "{text}");
            assert_eq!(n, 1);
        }
    }

    #[test]
    fn other_numbers_are_left_alone() {
        for text in [
            "call me on +353 86 123 4567",
            "booking K7PX2Q, flight GA123 on 2026-12-01",
            "ticket 1259876543210 was reissued", // 13 digits failing Luhn
            "4111111111111112",                  // fails Luhn
            "41111111111111110",                 // 17 digits, no valid 13..17 prefix ending at a boundary
            "order 123456789012",                // 12 digits
            "",
        ] {
            let (out, n) = redact(text);
            assert_eq!((out.as_str(), n), (text, 0), "{text}");
        }
    }

    #[test]
    fn only_free_text_of_events_is_scrubbed() {
        let mut e = serde_json::json!({"data": {"summary": "paid with 4111-1111-1111-1111", "text": "card 5555 5555 5555 4444 declined",
            "items": [{"description": "seat 4012888888881881"}], "reference": "4111111111111111",
            "customer": {"phone": "+4111111111111"}}});
        assert_eq!(scrub_event(&mut e), 4);
        let s = e.to_string();
        assert!(!s.contains("4111-1111") && !s.contains("5555 5555") && !s.contains("4012888888881881"));
        assert_eq!(e["data"]["reference"], REDACTED);
        assert_eq!(e["data"]["customer"]["phone"], "+4111111111111", "identifiers are validated, not scrubbed");
    }
}
