//! XML-RPC codec benchmarks on a generated 2,000-record `search_read` response (~1.6 MB, typed
//! like transcript 14).
//!
//! `cargo bench --bench xmlrpc` runs the criterion benchmarks: the transcoder (XML-RPC to JSON
//! text, what REST reads use), the decoder (to a `Value`), bare quick-xml event scans of the
//! same bytes that build nothing (the floor, with quick-xml's end tag check and without), and
//! `encode_call` of an `execute_kw`.
//!
//! `cargo bench --bench xmlrpc -- --interleaved 30` measures all of them and CPython
//! (`xmlrpc.client.loads`, then `json.dumps` of the param: what a Python gateway does; through
//! benches/xmlrpc_loads.py, one long-lived `python3`) in the same rounds, rotating which goes
//! first, and prints the medians and ratios. It also times a clone and drop of the decoded
//! `Value`: a lower bound for building a `Value`, whatever the parser.
//!
//! `-- --loop transcode|decode|scan|scan-unchecked|none N` runs one of them N times and nothing
//! else, for `valgrind --tool=callgrind` (instruction counts: repeatable on a busy machine;
//! `none` is the input generation alone, to subtract).

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use odoo_rest_proxy::xmlrpc::{decode_response, encode_call, encode_response, transcode_response};
use quick_xml::events::Event;
use serde_json::{json, Value};

const RECORDS: usize = 2_000;

/// A deterministic generator (64-bit LCG); no dependency on `rand`'s stream stability.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below.max(1)
    }
}

const NAMES: [&str; 8] = [
    "Azure Interior",
    "Brandon Freeman",
    "Jesse Brown",
    "Gemini Furniture",
    "Wood Corner",
    "Zoë Ünïcødé 東京",
    "Deco Addict",
    "Lumber Inc",
];

const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The records of a `search_read` on res.partner, typed as Odoo 18 sends them.
fn records() -> Value {
    let mut random = Lcg(14);
    let rows: Vec<Value> = (0..RECORDS)
        .map(|index| {
            let id = 100 + index as u64;
            let name = NAMES[random.next(NAMES.len() as u64) as usize];
            let many2one = |random: &mut Lcg| {
                if random.next(3) == 0 {
                    json!(false)
                } else {
                    let other = random.next(NAMES.len() as u64);
                    json!([1 + other, NAMES[other as usize]])
                }
            };
            let ids = |random: &mut Lcg| {
                let count = random.next(4);
                Value::Array((0..count).map(|_| json!(random.next(5_000))).collect())
            };
            let mut row = json!({
                "id": id,
                "name": format!("{name} {id}"),
                "parent_id": many2one(&mut random),
                "child_ids": ids(&mut random),
                "write_date": format!(
                    "2026-11-{:02} 02:{:02}:{:02}",
                    1 + random.next(28),
                    random.next(60),
                    random.next(60)
                ),
                "partner_latitude": (random.next(180_000) as f64) / 1000.0 - 90.0,
                "is_company": random.next(2) == 0,
            });
            if index % 25 == 0 {
                let length = 4 * (500 + random.next(300) as usize);
                let image: String = (0..length)
                    .map(|_| char::from(BASE64[random.next(64) as usize]))
                    .collect();
                row["image_128"] = json!(image);
            }
            row
        })
        .collect();
    Value::Array(rows)
}

fn response_bytes() -> Vec<u8> {
    let mut bytes = Vec::new();
    encode_response(&mut bytes, &records());
    bytes
}

/// Every event quick-xml's slice reader reports, with its default configuration (text not
/// trimmed) and end tag names checked by quick-xml or not; builds nothing.
fn scan(bytes: &[u8], check_end_names: bool) -> usize {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().check_end_names = check_end_names;
    let mut events = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) | Err(_) => return events,
            Ok(event) => {
                black_box(&event);
                events += 1;
            }
        }
    }
}

fn execute_kw_params() -> Vec<Value> {
    vec![
        json!("rest"),
        json!(2),
        json!("admin"),
        json!("res.partner"),
        json!("search_read"),
        json!([[["id", "in", [15, 27, 23]], ["name", "ilike", "a & b"]]]),
        json!({
            "fields": ["name", "parent_id", "country_id", "company_id", "category_id",
                       "child_ids", "create_date", "write_date", "partner_latitude", "color",
                       "is_company", "active", "function", "mobile", "comment", "type",
                       "image_128"],
            "limit": 80, "offset": 0, "order": "id",
            "context": {"tz": "Asia/Tokyo", "lang": "en_US"}
        }),
    ]
}

fn criterion_benches(criterion: &mut Criterion) {
    let bytes = response_bytes();
    let mut group = criterion.benchmark_group("search_read_2000");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(30);
    group.bench_function("decode_response", |bench| {
        bench.iter(|| decode_response(black_box(&bytes)))
    });
    group.bench_function("transcode_response", |bench| {
        bench.iter(|| transcode_response(black_box(&bytes)))
    });
    group.bench_function("quick_xml_scan", |bench| {
        bench.iter(|| scan(black_box(&bytes), true))
    });
    group.bench_function("quick_xml_scan_unchecked", |bench| {
        bench.iter(|| scan(black_box(&bytes), false))
    });
    group.finish();

    let params = execute_kw_params();
    let mut out = Vec::with_capacity(4096);
    criterion.bench_function("encode_call_execute_kw", |bench| {
        bench.iter(|| {
            out.clear();
            encode_call(&mut out, "execute_kw", black_box(&params));
            out.len()
        })
    });
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// One participant of the interleaved run: a name and one timed run of it.
type Run<'a> = Box<dyn Fn() + 'a>;

/// The transcoder, the decoder, the scans, a `Value` clone + drop and Python in the same
/// rounds, rotating which goes first; prints the medians and the ratios.
fn interleaved(rounds: usize, per_round: usize) {
    let bytes = response_bytes();
    let path = std::env::temp_dir().join(format!("xmlrpc-bench-{}.xml", std::process::id()));
    std::fs::write(&path, &bytes).expect("the temporary directory is writable");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/xmlrpc_loads.py");
    let mut python = Command::new("python3")
        .arg(script)
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut to_python = python.stdin.take().expect("stdin is piped");
    let mut from_python = BufReader::new(python.stdout.take().expect("stdout is piped"));

    // Sanity: the transcoder writes what serde_json writes for the decoder's value.
    let value = match decode_response(&bytes) {
        Ok(Ok(value)) => value,
        other => panic!("the generated bytes do not decode: {other:?}"),
    };
    assert!(matches!(value, Value::Array(ref rows) if rows.len() == RECORDS));
    let json = match transcode_response(&bytes) {
        Ok(Ok(json)) => json,
        other => panic!("the generated bytes do not transcode: {other:?}"),
    };
    assert_eq!(
        json.text,
        serde_json::to_vec(&value).expect("a Value serializes")
    );
    println!(
        "input: {RECORDS} records, {} bytes, {} quick-xml events, JSON out {} bytes; {rounds} \
         rounds x {per_round} runs each, order rotating",
        bytes.len(),
        scan(&bytes, true),
        json.text.len()
    );

    let participants: Vec<(&str, Run)> = vec![
        (
            "transcode_response",
            Box::new(|| {
                black_box(transcode_response(black_box(&bytes)).is_ok());
            }),
        ),
        (
            "decode_response",
            Box::new(|| {
                black_box(decode_response(black_box(&bytes)).is_ok());
            }),
        ),
        (
            "scan, end names checked",
            Box::new(|| {
                black_box(scan(black_box(&bytes), true));
            }),
        ),
        (
            "scan, end names unchecked",
            Box::new(|| {
                black_box(scan(black_box(&bytes), false));
            }),
        ),
        (
            "Value clone + drop",
            Box::new(|| drop(black_box(black_box(&value).clone()))),
        ),
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); participants.len()];
    let (mut loads, mut loads_dumps) = (Vec::new(), Vec::new());
    let turns = participants.len() + 1;
    for round in 0..rounds {
        for turn in 0..turns {
            let index = (round + turn) % turns;
            if let Some((_, run)) = participants.get(index) {
                for _ in 0..per_round {
                    let start = Instant::now();
                    run();
                    times[index].push(start.elapsed());
                }
                continue;
            }
            writeln!(to_python, "{per_round}").expect("python3 reads");
            let mut line = String::new();
            from_python.read_line(&mut line).expect("python3 answers");
            for pair in line.split_whitespace() {
                let mut parts = pair.split(',').filter_map(|ns| ns.parse().ok());
                if let (Some(one), Some(both)) = (parts.next(), parts.next()) {
                    loads.push(Duration::from_nanos(one));
                    loads_dumps.push(Duration::from_nanos(both));
                }
            }
        }
    }
    drop(to_python);
    let _ = python.wait();
    let _ = std::fs::remove_file(&path);

    let mb_per_s = |time: Duration| bytes.len() as f64 / time.as_secs_f64() / 1e6;
    let mut medians = Vec::new();
    for ((name, _), times) in participants.iter().zip(&mut times) {
        medians.push(median(times));
        let time = medians[medians.len() - 1];
        println!("{name:<32} {time:>10.3?}  {:7.0} MB/s", mb_per_s(time));
    }
    let (loads, loads_dumps) = (median(&mut loads), median(&mut loads_dumps));
    println!(
        "{:<32} {loads:>10.3?}  {:7.0} MB/s",
        "python loads",
        mb_per_s(loads)
    );
    println!(
        "{:<32} {loads_dumps:>10.3?}  {:7.0} MB/s",
        "python loads + json.dumps",
        mb_per_s(loads_dumps)
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let (transcode, decode, checked, unchecked) = (medians[0], medians[1], medians[2], medians[3]);
    println!(
        "transcode_response: {:.1}x faster than Python loads + json.dumps, {:.2}x the scan \
         (end names checked), {:.2}x the scan (unchecked)",
        ratio(loads_dumps, transcode),
        ratio(transcode, checked),
        ratio(transcode, unchecked)
    );
    println!(
        "decode_response:    {:.1}x faster than Python loads, {:.2}x the scan (end names \
         checked), {:.2}x the scan (unchecked)",
        ratio(loads, decode),
        ratio(decode, checked),
        ratio(decode, unchecked)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|arg| arg == "--interleaved") {
        let rounds = args.get(at + 1).and_then(|n| n.parse().ok()).unwrap_or(30);
        interleaved(rounds, 5);
        return;
    }
    if let Some(at) = args.iter().position(|arg| arg == "--loop") {
        // For profilers (callgrind, perf): run one participant N times and nothing else.
        let bytes = response_bytes();
        let what = args.get(at + 1).map(String::as_str).unwrap_or("transcode");
        let times: usize = args.get(at + 2).and_then(|n| n.parse().ok()).unwrap_or(100);
        for _ in 0..times {
            match what {
                "decode" => black_box(decode_response(black_box(&bytes)).is_ok()),
                "scan" => black_box(scan(black_box(&bytes), true) > 0),
                "scan-unchecked" => black_box(scan(black_box(&bytes), false) > 0),
                "none" => black_box(bytes.is_empty()),
                _ => black_box(transcode_response(black_box(&bytes)).is_ok()),
            };
        }
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    criterion_benches(&mut criterion);
    criterion.final_summary();
}
