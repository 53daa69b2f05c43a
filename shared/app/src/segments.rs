//! Customer segments: named groups channels, marketing and partners target. Derived from what the
//! profile item holds in clear (tier, booking count, sources) and whether the customer is a loyalty
//! member, recomputed by the merge on every change, kept in clear on the profile item (they carry no
//! personal data beyond what the tier already says), published as segment changes on
//! `customer.updated`, and used by partner exports to select customers.
//!
//! Nothing health-related or otherwise special-category becomes a segment (special assistance is
//! never one): segments leave the platform on the outbound stream.

/// Every segment, in the order they are listed.
pub const SEGMENTS: [&str; 4] = ["loyalty_member", "elite", "frequent_flyer", "multi_channel"];
/// Bookings on record that make a frequent flyer.
pub const FREQUENT_FLYER_BOOKINGS: u32 = 4;
/// Distinct sources (systems or channels) that make a multi-channel customer.
pub const MULTI_CHANNEL_SOURCES: usize = 3;

/// What segments are derived from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs<'a> {
    pub tier: Option<&'a str>,
    pub loyalty_member: bool,
    pub bookings: u32,
    pub sources: usize,
}

/// The customer's segments, in [`SEGMENTS`] order.
pub fn segments(i: Inputs<'_>) -> Vec<String> {
    SEGMENTS
        .iter()
        .filter(|s| match **s {
            "loyalty_member" => i.loyalty_member || i.tier.is_some(),
            "elite" => matches!(i.tier, Some("gold" | "platinum")),
            "frequent_flyer" => i.bookings >= FREQUENT_FLYER_BOOKINGS,
            "multi_channel" => i.sources >= MULTI_CHANNEL_SOURCES,
            _ => false,
        })
        .map(|s| (*s).to_owned())
        .collect()
}

/// What changed between two segment lists: (added, removed).
pub fn diff(old: &[String], new: &[String]) -> (Vec<String>, Vec<String>) {
    let added = new.iter().filter(|s| !old.contains(s)).cloned().collect();
    let removed = old.iter().filter(|s| !new.contains(s)).cloned().collect();
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_tier_bookings_and_channels() {
        assert!(segments(Inputs::default()).is_empty());
        let gold = segments(Inputs { tier: Some("gold"), bookings: 3, sources: 2, ..Default::default() });
        assert_eq!(gold, ["loyalty_member", "elite"]);
        let busy = segments(Inputs { loyalty_member: true, bookings: 4, sources: 3, tier: Some("silver") });
        assert_eq!(busy, ["loyalty_member", "frequent_flyer", "multi_channel"]);
        assert_eq!(diff(&gold, &busy), (vec!["frequent_flyer".into(), "multi_channel".into()], vec!["elite".into()]));
    }
}
