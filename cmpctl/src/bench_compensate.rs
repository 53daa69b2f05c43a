//! `cmpctl bench compensate`: books N passengers on one flight through the local stack (bookings
//! through `POST /v1/events`, merged into profiles and the flight index), then cancels the flight
//! and measures the time from the disruption event to every passenger's case, and the AWS calls
//! per passenger of the compensate function. The flight generator is also what the integration
//! test of the compensate function uses.
use crate::client::ApiClient;
use crate::metrics::CallCounter;
use crate::stack::{LocalStack, StackOptions};
use crate::BoxError;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The flight the generator books: GA714 Dublin → Frankfurt.
pub const FLIGHT: &str = "GA714";
pub const DATE: &str = "2026-11-18";

const GIVEN: [&str; 16] = [
    "Aoife", "Ciarán", "Maëlle", "Jonas", "Zofia", "Mateo", "Ingrid", "Dimitris", "Lucía", "Pieter", "Sinéad", "Björn",
    "Chiara", "Oisín", "Hanna", "Rui",
];
const FAMILY: [&str; 16] = [
    "Byrne",
    "Ó Súilleabháin",
    "Kerouac",
    "Vogel",
    "Nowak",
    "García",
    "Lindqvist",
    "Papadakis",
    "Fernández",
    "de Vries",
    "Ní Bhriain",
    "Åkesson",
    "Romano",
    "Kavanagh",
    "Schmidt",
    "Lopes",
];

/// Where a passenger of the generated flight is going after Frankfurt (every `CONNECT_EVERY`th
/// booking connects).
const ONWARD: [(&str, &str, &str, &str); 3] = [
    // flight, destination, departure (local FRA), arrival (local)
    ("GA1386", "ATH", "2026-11-18T11:35:00+01:00", "2026-11-18T15:25:00+02:00"),
    ("GA402", "JFK", "2026-11-18T13:10:00+01:00", "2026-11-18T16:05:00-05:00"),
    ("GA1560", "WAW", "2026-11-18T11:50:00+01:00", "2026-11-18T13:40:00+01:00"),
];
pub const CONNECT_EVERY: usize = 3;
/// Passengers per booking.
pub const PARTY: usize = 3;

/// One generated passenger: how to find them again.
#[derive(Debug, Clone)]
pub struct Passenger {
    pub email: String,
    pub record_locator: String,
    pub passenger_id: String,
    /// The final destination of the booking (`FRA` or a connection's).
    pub final_destination: &'static str,
    pub special_assistance: bool,
}

fn locator(prefix: char, i: usize) -> String {
    // 6 characters, A-Z and 2-9, distinct per booking
    const ALPHA: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut n = i;
    let mut s = String::from(prefix);
    for _ in 0..5 {
        s.push(ALPHA[n % ALPHA.len()] as char);
        n /= ALPHA.len();
    }
    s
}

/// `passengers` passengers on GA714 in bookings of [`PARTY`]; every [`CONNECT_EVERY`]th booking
/// connects in Frankfurt to Athens, New York or Warsaw. Answers the `booking.recorded` events and
/// the passengers. `tag` keeps e-mails and event ids apart between runs on one stack.
pub fn flight_bookings(passengers: usize, tag: &str) -> (Vec<Value>, Vec<Passenger>) {
    let mut events = Vec::new();
    let mut people = Vec::new();
    let bookings = passengers.div_ceil(PARTY);
    for b in 0..bookings {
        let rl = locator('Q', b);
        let mut segments = vec![json!({
            "segment_id": "S1", "flight_number": FLIGHT, "operating_carrier": "GA", "departure_date": DATE,
            "origin": "DUB", "destination": "FRA", "scheduled_departure": "2026-11-18T07:05:00+00:00",
            "scheduled_arrival": "2026-11-18T10:10:00+01:00"
        })];
        let mut final_destination = "FRA";
        if b % CONNECT_EVERY == CONNECT_EVERY - 1 {
            let (flight, dest, dep, arr) = ONWARD[(b / CONNECT_EVERY) % ONWARD.len()];
            segments.push(json!({
                "segment_id": "S2", "flight_number": flight, "operating_carrier": "GA", "departure_date": DATE,
                "origin": "FRA", "destination": dest, "scheduled_departure": dep, "scheduled_arrival": arr
            }));
            final_destination = dest;
        }
        let mut pax = Vec::new();
        for p in 0..PARTY.min(passengers - b * PARTY) {
            let n = b * PARTY + p;
            let given = GIVEN[n % GIVEN.len()];
            let family = FAMILY[(n / GIVEN.len()) % FAMILY.len()];
            let email = format!("pax{n}.{tag}@example.org");
            let special = n % 40 == 7;
            let mut passenger = json!({
                "passenger_id": format!("P{}", p + 1), "type": "adult",
                "name": {"given": given, "family": family}, "email": email,
            });
            if special {
                passenger["special_assistance"] = json!(["WCHR"]);
            }
            pax.push(passenger);
            people.push(Passenger {
                email,
                record_locator: rl.clone(),
                passenger_id: format!("P{}", p + 1),
                final_destination,
                special_assistance: special,
            });
        }
        events.push(json!({
            "specversion": "1.0", "id": format!("bench-{tag}-booking-{b}"), "source": "/systems/pss",
            "type": "booking.recorded", "time": "2026-10-21T10:00:00Z", "subject": rl,
            "data": {"record_locator": rl, "channel": "web", "status": "confirmed", "booked_at": "2026-10-21T10:00:00Z",
                     "passengers": pax, "segments": segments}
        }));
    }
    (events, people)
}

/// The cancellation of the generated flight, notified two hours before departure, with a
/// re-routing arriving 6 h 35 min late in Frankfurt.
pub fn cancellation(id: &str) -> Value {
    json!({
        "specversion": "1.0", "id": id, "source": "/systems/ops-control", "type": "flight.disrupted",
        "time": "2026-11-18T05:12:40Z", "subject": format!("{FLIGHT}/{DATE}"),
        "data": {"flight_number": FLIGHT, "operating_carrier": "GA", "departure_date": DATE, "origin": "DUB",
                 "destination": "FRA", "type": "cancellation", "cause": "technical",
                 "scheduled_departure": "2026-11-18T07:05:00+00:00", "scheduled_arrival": "2026-11-18T10:10:00+01:00",
                 "notified_at": "2026-11-18T05:10:00Z",
                 "reroute": {"flight_number": "GA718", "departure": "2026-11-18T13:40:00+00:00",
                             "arrival": "2026-11-18T16:45:00+01:00"}}
    })
}

/// Posts events in batches of 500 and waits until the stream mappings have finished `records`
/// more records.
pub async fn post_and_wait(
    stack: &LocalStack,
    client: &ApiClient,
    events: &[Value],
    records: u64,
    timeout: Duration,
) -> Result<(), BoxError> {
    let before = stack.records_done();
    for chunk in events.chunks(500) {
        let (status, body) = client.post_json("/v1/events", &json!({ "events": chunk })).await?;
        if status != 202 {
            return Err(format!("ingest answered {status}: {body}").into());
        }
    }
    let deadline = Instant::now() + timeout;
    while stack.records_done() < before + records {
        if Instant::now() > deadline {
            return Err(format!("the stream did not finish {records} records within {timeout:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

pub struct CompensateReport {
    pub passengers: usize,
    pub bookings: usize,
    pub load_seconds: f64,
    pub seconds: f64,
    pub cases: usize,
    pub calls: BTreeMap<String, u64>,
    pub mean_ms: BTreeMap<String, f64>,
}

impl CompensateReport {
    pub fn render(&self) -> String {
        let mut s = format!(
            "flight {FLIGHT} on {DATE}: {} passengers in {} bookings (loaded and merged in {:.1} s)\n",
            self.passengers, self.bookings, self.load_seconds
        );
        s.push_str(&format!(
            "cancellation → all cases created: {:.2} s ({:.0} cases/s, {:.1} ms per passenger); cases: {}\n",
            self.seconds,
            self.cases as f64 / self.seconds,
            1000.0 * self.seconds / self.cases.max(1) as f64,
            self.cases
        ));
        s.push_str("AWS calls during the disruption (ingest + compensate + merge skipping it): count, per passenger, mean latency:\n");
        for (op, n) in &self.calls {
            let ms = self.mean_ms.get(op).copied().unwrap_or(f64::NAN);
            s.push_str(&format!("  {op}: {n} ({:.2}), {ms:.1} ms\n", *n as f64 / self.passengers as f64));
        }
        s
    }
}

/// Runs the benchmark on a fresh local stack.
pub async fn compensate(passengers: usize) -> Result<CompensateReport, BoxError> {
    let counter = CallCounter::default();
    let stack = LocalStack::start(StackOptions { counter: Some(counter.clone()), ..Default::default() }).await?;
    let client = ApiClient::new(stack.base_url.clone()).with_token(stack.token("channel", false, None)?);
    let staff = client.with_token(stack.token("customer_affairs", false, None)?);
    let (bookings, _) = flight_bookings(passengers, "bench");
    let t0 = Instant::now();
    post_and_wait(&stack, &client, &bookings, bookings.len() as u64, Duration::from_secs(1800)).await?;
    let load_seconds = t0.elapsed().as_secs_f64();
    counter.reset();
    let t0 = Instant::now();
    // one record for the merge (which skips it) and one for the compensate function
    post_and_wait(&stack, &client, &[cancellation("bench-cancel-1")], 2, Duration::from_secs(1800)).await?;
    let seconds = t0.elapsed().as_secs_f64();
    let calls = counter.snapshot();
    let mean_ms = counter.mean_ms();
    let (status, body) = staff.get(&format!("/v1/cases?flight={FLIGHT}&date={DATE}")).await?;
    if status != 200 {
        return Err(format!("GET /v1/cases answered {status}: {body}").into());
    }
    let cases = body["count"].as_u64().unwrap_or(0) as usize;
    stack.stop().await;
    if cases != passengers {
        return Err(format!("{cases} cases for {passengers} passengers").into());
    }
    Ok(CompensateReport { passengers, bookings: bookings.len(), load_seconds, seconds, cases, calls, mean_ms })
}
