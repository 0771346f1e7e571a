//! Table-driven tests of the domain engine against the seeded dataset.

use super::*;
use crate::demo::data::{PARTNER, USERS};
use crate::demo::matching::like_match;
use crate::demo::seed;
use serde_json::json;

/// Searches partners with `domain` (active records only) and compares the ids.
fn check(domain: Value, expected: &[i64]) {
    let db = seed::database();
    let parsed = parse(&db, PARTNER, &domain);
    let found = parsed.map(|domain| domain.search(&db, true));
    assert_eq!(found.as_deref(), Ok(expected), "domain {domain}");
}

fn count(domain: Value) -> usize {
    let db = seed::database();
    parse(&db, PARTNER, &domain)
        .map(|domain| domain.search(&db, true).len())
        .unwrap_or(usize::MAX)
}

fn fault(domain: Value) -> Fault {
    let db = seed::database();
    match parse(&db, PARTNER, &domain) {
        Ok(_) => Fault {
            code: 0,
            string: String::new(),
        },
        Err(fault) => fault,
    }
}

#[test]
fn comparison_operators() {
    check(json!([["id", "=", 15]]), &[15]);
    check(json!([["id", "<", 4]]), &[1, 3]);
    check(json!([["id", "<=", 3]]), &[1, 3]);
    check(json!([["id", ">", 48]]), &[49, 50]);
    check(json!([["id", ">=", 49]]), &[49, 50]);
    check(json!([["id", "in", [15, 27, 23, 999]]]), &[15, 23, 27]);
    check(json!([["id", "in", 15]]), &[15]);
    check(json!([["name", "=", "Azure Interior"]]), &[15]);
    check(
        json!([["name", "!=", "Azure Interior"], ["is_company", "=", true]]),
        &[1, 9, 10, 11, 12, 13, 14, 16],
    );
    check(json!([["color", ">", 0]]), &[9, 16]);
    check(json!([["partner_latitude", ">", 49.5]]), &[16]);
    check(
        json!([["create_date", ">=", "2026-11-30 02:46:50"], ["id", "<", 4]]),
        &[1, 3],
    );
    check(
        json!([["write_date", ">", "2026-11-30 02:48:00"]]),
        &[15, 27],
    );
}

#[test]
fn in_and_not_in() {
    check(json!([["country_id", "in", [20]]]), &[8, 16, 35, 36, 49]);
    check(
        json!([["country_id", "not in", [233, 20]]]),
        &[39, 40, 43, 44, 46, 47, 48],
    );
    check(json!([["country_id", "in", [false, 113]]]), &[46, 48]);
    check(
        json!([["country_id", "not in", [false, 233, 20, 57, 68, 75]]]),
        &[39, 46],
    );
}

#[test]
fn pattern_operators() {
    check(json!([["name", "like", "Azure"]]), &[15]);
    check(json!([["name", "like", "azure"]]), &[]);
    check(json!([["name", "ilike", "azure"]]), &[15]);
    check(json!([["name", "=like", "A%"]]), &[15, 21]);
    check(json!([["name", "=ilike", "a%"]]), &[15, 21]);
    check(json!([["name", "=ilike", "_zure interior"]]), &[15]);
    check(json!([["email", "ilike", "@example.fr"]]), &[40, 43]);
    check(json!([["name", "ilike", "ü"]]), &[44]);
    assert_eq!(
        count(json!([["name", "ilike", "a"]])) + count(json!([["name", "not ilike", "a"]])),
        count(json!([]))
    );
    check(
        json!([["name", "not like", "e"], ["is_company", "=", true]]),
        &[1, 16],
    );
}

#[test]
fn false_means_empty() {
    check(
        json!([["parent_id", "=", false], ["is_company", "=", false]]),
        &[6, 39, 40, 43, 44, 46, 47, 48],
    );
    check(json!([["name", "=", false]]), &[41, 42]);
    check(json!([["email", "=", false]]), &[42]);
    check(json!([["comment", "!=", false]]), &[9, 44]);
    check(
        json!([["category_id", "!=", false], ["is_company", "=", false]]),
        &[40, 46],
    );
    check(
        json!([["is_company", "=", true]]),
        &[1, 9, 10, 11, 12, 13, 14, 15, 16],
    );
    assert_eq!(
        count(json!([["is_company", "=", false]])),
        count(json!([["is_company", "!=", true]]))
    );
    check(json!([["mobile", "=?", false], ["id", "=", 15]]), &[15]);
    check(json!([["mobile", "=?", "+1 555-0100"]]), &[28, 34]);
}

#[test]
fn prefix_operators_and_implicit_and() {
    check(json!(["|", ["id", "=", 15], ["id", "=", 27]]), &[15, 27]);
    check(
        json!(["&", ["is_company", "=", true], ["name", "ilike", "azure"]]),
        &[15],
    );
    check(
        json!([["is_company", "=", true], ["name", "ilike", "azure"]]),
        &[15],
    );
    check(json!(["!", ["id", ">", 2]]), &[1]);
    check(
        json!([
            "|",
            "&",
            ["id", "=", 15],
            ["name", "=", "x"],
            ["id", "=", 27]
        ]),
        &[27],
    );
    check(json!(["!", "|", ["id", ">", 3], ["id", "=", 1]]), &[3]);
    check(json!([[1, "=", 1], ["id", "=", 15]]), &[15]);
    check(json!([[0, "=", 1]]), &[]);
}

#[test]
fn many2one_by_id_and_by_name() {
    check(json!([["parent_id", "=", 15]]), &[27, 28, 34]);
    check(json!([["parent_id", "=", "Azure Interior"]]), &[27, 28, 34]);
    check(json!([["parent_id", "ilike", "azure"]]), &[27, 28, 34]);
    check(
        json!([["parent_id", "in", [15, 16]], ["function", "ilike", "a"]]),
        &[27, 28, 35, 36, 49],
    );
    check(json!([["parent_id", "child_of", 15]]), &[27, 28, 34]);
    check(json!([["id", "child_of", 15]]), &[15, 27, 28, 34]);
    check(json!([["id", "parent_of", 27]]), &[15, 27]);
}

#[test]
fn x2many_and_dotted_paths() {
    check(json!([["category_id", "in", [5]]]), &[9, 15, 16]);
    check(json!([["category_id", "=", 2]]), &[40, 46]);
    check(json!([["category_id", "ilike", "office"]]), &[9, 15, 16]);
    check(json!([["child_ids", "in", [27]]]), &[15]);
    check(
        json!([["country_id.code", "=", "BE"]]),
        &[8, 16, 35, 36, 49],
    );
    check(
        json!([["parent_id.country_id.code", "=", "BE"]]),
        &[35, 36, 49],
    );
    check(json!([["category_id.name", "=", "Prospects"]]), &[40, 46]);
    check(
        json!([["parent_id.name", "=", "Azure Interior"]]),
        &[27, 28, 34],
    );
}

#[test]
fn active_test_and_archived_records() {
    let db = seed::database();
    let everything = parse(&db, PARTNER, &json!([])).map(|d| d.search(&db, true).len());
    let with_archived = parse(&db, PARTNER, &json!([])).map(|d| d.search(&db, false).len());
    assert_eq!(everything.map(|n| n + 3), with_archived);
    check(json!([["active", "=", false]]), &[2, 4, 45]);
    check(
        json!([["active", "in", [true, false]], ["id", "<", 3]]),
        &[1, 2],
    );
    let users = parse(&db, USERS, &json!([])).map(|d| d.search(&db, true));
    assert_eq!(users, Ok(vec![2, 6, 8]));
}

#[test]
fn bad_fields_and_operators_raise_odoo_faults() {
    let unknown = fault(json!([["nonexistent_field", "=", 1]]));
    assert_eq!(unknown.code, 1);
    assert!(unknown.string.ends_with(
        "\nValueError: Invalid field res.partner.nonexistent_field in leaf ('nonexistent_field', '=', 1)\n"
    ));
    let operator = fault(json!([["name", "no_such_op", 1]]));
    assert_eq!(operator.code, 1);
    assert!(operator
        .string
        .ends_with("\nValueError: Invalid leaf ('name', 'no_such_op', 1)\n"));
    let dotted = fault(json!([["country_id.bogus", "=", 1]]));
    assert!(dotted
        .string
        .contains("Invalid field res.country.bogus in leaf ('country_id.bogus', '=', 1)"));
    let not_relational = fault(json!([["name.x", "=", 1]]));
    assert!(not_relational
        .string
        .contains("Invalid field res.partner.x in leaf"));
    // A bad field wins over a bad operator elsewhere, as in Odoo.
    let both = fault(json!([["name", "bad", 1], ["nope", "=", 1]]));
    assert!(both.string.contains("Invalid field res.partner.nope"));
    for broken in [
        json!(["&", ["id", "=", 1]]),
        json!(["!"]),
        json!(["|"]),
        json!([["id", "="]]),
        json!([42]),
        json!("id"),
    ] {
        assert_eq!(fault(broken.clone()).code, 1, "{broken}");
    }
}

#[test]
fn deep_domains_do_not_overflow() {
    let mut items = vec![json!("!"); 200_000];
    items.push(json!(["id", "=", 1]));
    check(Value::Array(items), &[1]);
}

#[test]
fn like_matcher() {
    for (text, pattern, expected) in [
        ("Azure Interior", "%zure%", true),
        ("Azure", "A_ure", true),
        ("Azure", "A_re", false),
        ("", "%", true),
        ("", "", true),
        ("a", "", false),
        ("100%", "100\\%", true),
        ("1000", "100\\%", false),
        ("mississippi", "%iss%ppi", true),
        ("東京", "_京", true),
    ] {
        assert_eq!(like_match(text, pattern), expected, "{text} like {pattern}");
    }
}
