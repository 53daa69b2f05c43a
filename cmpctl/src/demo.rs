//! Demo data: a few thousand customers with European names, seen on several channels with
//! realistic cross-channel duplicates (the same e-mail on web and call centre, the loyalty number
//! at check-in), bookings with passengers and flights, and interactions with free text.
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

struct Country {
    code: &'static str,
    dial: &'static str,
    mobile: &'static [&'static str],
    digits: usize,
    given: &'static [&'static str],
    family: &'static [&'static str],
    cities: &'static [&'static str],
    airport: &'static str,
}

const COUNTRIES: &[Country] = &[
    Country {
        code: "IE",
        dial: "+353",
        mobile: &["83", "85", "86", "87"],
        digits: 7,
        given: &["Siobhán", "Aoife", "Ciarán", "Seán", "Niamh", "Pádraig", "Órla", "Eoin"],
        family: &["Ó Briain", "Murphy", "Kelly", "Ní Dhomhnaill", "Walsh", "O'Connor", "Byrne", "Mac Giolla"],
        cities: &["Dublin", "Cork", "Galway", "Limerick"],
        airport: "DUB",
    },
    Country {
        code: "DE",
        dial: "+49",
        mobile: &["151", "160", "170", "176"],
        digits: 8,
        given: &["Jürgen", "Zoë", "Lukas", "Mareike", "Björn", "Käthe", "Sören", "Anja"],
        family: &["Müller", "Schäfer", "Weiß", "Groß", "Köhler", "Schröder", "Müller-Lüdenscheidt", "Hoffmann"],
        cities: &["Berlin", "München", "Köln", "Düsseldorf"],
        airport: "FRA",
    },
    Country {
        code: "FR",
        dial: "+33",
        mobile: &["6", "7"],
        digits: 8,
        given: &["Inès", "Loïc", "Hélène", "François", "Chloé", "Gaëlle", "Jérôme", "Anaïs"],
        family: &["Lefèvre", "Dubois", "Moreau", "Girard", "Bénard", "Rousseau", "Lemaître", "Faure"],
        cities: &["Paris", "Lyon", "Nantes", "Besançon"],
        airport: "CDG",
    },
    Country {
        code: "PL",
        dial: "+48",
        mobile: &["50", "51", "60", "69"],
        digits: 7,
        given: &["Łukasz", "Małgorzata", "Paweł", "Zofia", "Wojciech", "Agnieszka", "Jędrzej", "Katarzyna"],
        family: &["Wiśniewski", "Kowalska", "Wójcik", "Zieliński", "Szymańska", "Dąbrowski", "Łuczak", "Nowak"],
        cities: &["Warszawa", "Kraków", "Gdańsk", "Łódź"],
        airport: "WAW",
    },
    Country {
        code: "NO",
        dial: "+47",
        mobile: &["4", "9"],
        digits: 7,
        given: &["Ørjan", "Åse", "Bjørn", "Solveig", "Håkon", "Ingrid", "Øystein", "Sigrún"],
        family: &["Håland", "Sørensen", "Løvås", "Bråten", "Ødegård", "Hansen", "Bjørnstad", "Aas"],
        cities: &["Oslo", "Bergen", "Tromsø", "Stavanger"],
        airport: "OSL",
    },
    Country {
        code: "ES",
        dial: "+34",
        mobile: &["6"],
        digits: 8,
        given: &["José", "María", "Álvaro", "Núria", "Íñigo", "Begoña", "Andrés", "Lucía"],
        family: &["García", "Fernández", "Núñez", "Peña", "Martínez", "Ibáñez", "Muñoz", "Sáez"],
        cities: &["Madrid", "Barcelona", "Bilbao", "Sevilla"],
        airport: "MAD",
    },
    Country {
        code: "PT",
        dial: "+351",
        mobile: &["91", "92", "93", "96"],
        digits: 7,
        given: &["João", "Conceição", "Gonçalo", "Inês", "Sebastião", "Leonor", "Tomás", "Margarida"],
        family: &["Gonçalves", "Conceição", "Simões", "Araújo", "Magalhães", "Brandão", "Estêvão", "Leitão"],
        cities: &["Lisboa", "Porto", "Coimbra", "Faro"],
        airport: "LIS",
    },
    Country {
        code: "GR",
        dial: "+30",
        mobile: &["69"],
        digits: 8,
        given: &["Eleni", "Giorgos", "Dimitra", "Konstantinos", "Sofia", "Nikolaos", "Athina", "Vasilis"],
        family: &[
            "Papadopoulos",
            "Georgiou",
            "Nikolaidou",
            "Karagiannis",
            "Oikonomou",
            "Vlachou",
            "Dimitriou",
            "Alexiou",
        ],
        cities: &["Athína", "Thessaloníki", "Pátra", "Irákleio"],
        airport: "ATH",
    },
    Country {
        code: "SE",
        dial: "+46",
        mobile: &["70", "72", "73", "76"],
        digits: 7,
        given: &["Åsa", "Linnéa", "Göran", "Märta", "Björn", "Sofie", "Östen", "Elin"],
        family: &["Andersson", "Nyström", "Sjögren", "Öberg", "Åström", "Lindqvist", "Söderberg", "Ekström"],
        cities: &["Stockholm", "Göteborg", "Malmö", "Umeå"],
        airport: "ARN",
    },
    Country {
        code: "CZ",
        dial: "+420",
        mobile: &["60", "72", "73", "77"],
        digits: 7,
        given: &["Jiří", "Kateřina", "Tomáš", "Zuzana", "Přemysl", "Lenka", "Ondřej", "Věra"],
        family: &["Dvořák", "Nováková", "Černý", "Procházková", "Kučera", "Veselá", "Růžička", "Horák"],
        cities: &["Praha", "Brno", "Ostrava", "Plzeň"],
        airport: "PRG",
    },
];

const MEALS: &[&str] = &["VGML", "AVML", "GFML", "KSML", "MOML", "DBML", "LFML"];
const SEATS: &[&str] = &["window", "aisle", "no_preference"];
const COMPLAINTS: &[&str] = &[
    "My bag did not arrive in {city}; the desk gave me a reference but nobody called back.",
    "The flight was delayed four hours and we were offered no meal voucher.",
    "Seat 14C was broken and the crew could not move me. I paid for extra legroom.",
    "I was charged twice for my seat selection, please refund the second payment.",
];
const NOTES: &[&str] = &[
    "Customer asked to change the return flight to one day later; fare difference explained.",
    "Called about special meal for the outbound flight; VGML added.",
    "Asked about the status of loyalty points from the last trip.",
    "Wanted to add a checked bag and pay by card over the phone.",
];

/// One demo person and everything the channels will say about them.
pub struct Person {
    pub given: String,
    pub family: String,
    pub email: String,
    pub phone: String,
    pub loyalty: Option<String>,
}

fn ascii_slug(s: &str) -> String {
    let folded = cmp_app::domain::pii::fold_name(s);
    folded.replace(' ', "")
}

fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

/// Generates the events of `customers` people (deterministic for a seed). Returns the people (for
/// checks) and the events in the order channels would send them.
pub fn generate(customers: usize, seed: u64) -> (Vec<Person>, Vec<Value>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut people = Vec::new();
    let mut events = Vec::new();
    let base = chrono::DateTime::parse_from_rfc3339("2026-09-01T08:00:00Z").expect("date").to_utc();
    let mut n = 0u64;
    let mut next_id = |prefix: &str| {
        n += 1;
        format!("{prefix}-{seed}-{n:07}")
    };
    for i in 0..customers {
        let c = pick(&mut rng, COUNTRIES);
        let given = pick(&mut rng, c.given).to_string();
        let family = pick(&mut rng, c.family).to_string();
        let email = format!(
            "{}.{}{}@example.{}",
            ascii_slug(&given),
            ascii_slug(&family),
            i,
            if i % 2 == 0 { "com" } else { "org" }
        );
        // numbers valid in their country's numbering plan (checked with the same parser ingest uses)
        let phone = loop {
            let mobile = pick(&mut rng, c.mobile);
            let rest: String = (0..c.digits).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect();
            let candidate = format!("{}{}{}", c.dial, mobile, rest);
            if let Ok(p) = cmp_app::domain::pii::PhoneE164::parse(&candidate, None) {
                break p.as_str().to_owned();
            }
        };
        let loyalty = (rng.random_range(0..100) < 60).then(|| format!("GA{:08}", 10_000_000 + i));
        let dob =
            format!("{}-{:02}-{:02}", rng.random_range(1940..2006), rng.random_range(1..13), rng.random_range(1..29));
        let city = pick(&mut rng, c.cities).to_string();
        let t0 = base + chrono::Duration::minutes(rng.random_range(0..60 * 24 * 60));
        let ts = |d: i64| (t0 + chrono::Duration::hours(d)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        // web sign-up
        events.push(json!({
            "specversion": "1.0", "id": next_id("web"), "source": "/channels/web", "type": "customer.profile_observed",
            "time": ts(0), "subject": format!("web-{seed}-{i}"),
            "data": {
                "channel": "web",
                "name": {"given": given, "family": family},
                "emails": [{"address": email, "verified": true}],
                "phones": [{"number": phone}],
                "date_of_birth": dob,
                "address": {"lines": [format!("{} {}", rng.random_range(1..200), pick(&mut rng, &["Main Street", "Hauptstraße", "Rue de la Paix", "ulica Długa", "Storgata"]))], "city": city, "country": c.code},
                "preferences": {"meal": pick(&mut rng, MEALS), "seat": pick(&mut rng, SEATS), "home_airport": c.airport}
            }
        }));
        // loyalty enrolment for some
        if let Some(l) = &loyalty {
            events.push(json!({
                "specversion": "1.0", "id": next_id("loy"), "source": "/systems/loyalty", "type": "customer.profile_observed",
                "time": ts(2), "subject": l,
                "data": {"channel": "loyalty", "loyalty": {"program": "GA", "number": l, "tier": pick(&mut rng, &["basic", "basic", "silver", "gold", "platinum"])},
                         "emails": [{"address": email.to_uppercase()}]}
            }));
        }
        // a booking
        let dest = pick(&mut rng, COUNTRIES).airport;
        let dest = if dest == c.airport { "LHR" } else { dest };
        let day = (t0 + chrono::Duration::days(rng.random_range(7..60))).date_naive();
        let locator: String =
            (0..6).map(|_| char::from(*pick(&mut rng, b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789"))).collect();
        let mut pax =
            json!({"passenger_id": "P1", "type": "adult", "name": {"given": given, "family": family}, "email": email});
        if let Some(l) = &loyalty {
            pax["loyalty_number"] = json!(l);
        }
        events.push(json!({
            "specversion": "1.0", "id": next_id("pss"), "source": "/systems/pss", "type": "booking.recorded",
            "time": ts(5), "subject": locator,
            "data": {
                "record_locator": locator, "channel": "web", "status": "confirmed", "booked_at": ts(5),
                "passengers": [pax],
                "segments": [{"segment_id": "S1", "flight_number": format!("GA{}", rng.random_range(100..999)), "operating_carrier": "GA",
                    "departure_date": day.to_string(), "origin": c.airport, "destination": dest,
                    "scheduled_departure": format!("{day}T07:10:00+00:00"), "scheduled_arrival": format!("{day}T10:25:00+00:00"),
                    "cabin": "economy", "booking_class": "Y"}]
            }
        }));
        // a call-centre contact or a complaint, found by phone or e-mail
        if rng.random_range(0..100) < 50 {
            let complaint = rng.random_range(0..100) < 40;
            let text = if complaint {
                pick(&mut rng, COMPLAINTS).replace("{city}", &city)
            } else {
                pick(&mut rng, NOTES).to_string()
            };
            events.push(json!({
                "specversion": "1.0", "id": next_id("crm"), "source": "/channels/call-centre", "type": "customer.interaction_logged",
                "time": ts(30), "subject": format!("crm-{seed}-{i}"),
                "data": {"channel": "call_centre", "kind": if complaint { "complaint" } else { "call" },
                         "customer": if i % 2 == 0 { json!({"phone": phone}) } else { json!({"email": email}) },
                         "direction": "inbound", "summary": if complaint { "Complaint" } else { "Service call" }, "text": text, "agent_id": "agent.0042"}
            }));
        }
        // check-in with the loyalty number
        if let Some(l) = &loyalty {
            events.push(json!({
                "specversion": "1.0", "id": next_id("dcs"), "source": "/channels/check-in", "type": "customer.profile_observed",
                "time": ts(24 * 8), "subject": format!("dcs-{seed}-{i}"),
                "data": {"channel": "check_in", "name": {"given": given, "family": family}, "loyalty": {"number": l}}
            }));
        }
        people.push(Person { given, family, email, phone, loyalty });
    }
    (people, events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_free_text_carries_no_card_numbers() {
        let (_, events) = generate(200, 1);
        for e in &events {
            let mut copy = e.clone();
            assert_eq!(cmp_app::pci::scrub_event(&mut copy), 0, "{e}");
            assert_eq!(&copy, e);
        }
    }

    #[test]
    fn demo_events_are_valid_and_deterministic() {
        let (people, events) = generate(40, 7);
        let (_, again) = generate(40, 7);
        assert_eq!(events, again);
        assert_eq!(people.len(), 40);
        let v = cmp_app::schema::EventValidator::new().unwrap();
        for e in &events {
            assert_eq!(v.validate(e), vec![], "{e}");
            let raw: cmp_app::domain::event::RawEnvelope = serde_json::from_value(e.clone()).unwrap();
            cmp_app::domain::event::parse_event(&raw).unwrap();
        }
    }
}
