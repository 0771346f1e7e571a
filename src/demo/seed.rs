//! The demo dataset, generated in code so every start is identical: one company
//! ("YourCompany", partner 1), 50 partners (9 companies and their contacts, a few individuals,
//! two nameless addresses, three archived), 4 users (admin uid 2, demo_api uid 8), countries,
//! tags, currencies with two rates, and the `ir.model` rows with the `rest_api` / `x_rest_api` flags. Partner ids, names
//! and emails follow the Odoo 18 transcripts where those show them.

use serde_json::{json, Value};

use super::data::{
    Database, Row, TableId, CATEGORY, COMPANY, COUNTRY, CURRENCY, CURRENCY_RATE, IR_MODEL, PARTNER,
    USERS,
};
use super::schema::{Field, Kind, MODELS};

/// When the seeded records were created and last written (UTC, as Odoo prints datetimes).
pub(crate) const SEED_CREATE_DATE: &str = "2026-11-30 02:46:50";
const SEED_WRITE_DATE: &str = "2026-11-30 02:47:10";

/// uid 1, OdooBot, which "created" the seeded records.
const ODOOBOT_UID: i64 = 1;

/// The value a field takes when `create` does not give one.
pub(crate) fn default_value(table: TableId, field: &Field) -> Value {
    if field.compute.is_some() {
        return Value::Null;
    }
    match (table, field.name, field.kind) {
        (_, "active", _) => Value::Bool(true),
        (PARTNER, "type", _) => Value::from("contact"),
        (PARTNER | USERS, "lang", _) => Value::from("en_US"),
        (USERS, "company_id", _) => Value::from(1),
        (USERS, "company_ids", _) => json!([1]),
        (COMPANY, "sequence", _) => Value::from(10),
        (IR_MODEL, "state", _) => Value::from("manual"),
        (_, _, Kind::Boolean) => Value::Bool(false),
        (_, _, Kind::Integer) => Value::from(0),
        (_, _, Kind::Float) => Value::from(0.0),
        (_, _, Kind::Many2many(_)) => Value::Array(Vec::new()),
        _ => Value::Bool(false),
    }
}

/// A row of defaults for `table`, with `values` (field name, stored value) applied.
pub(crate) fn row(table: TableId, values: &[(&str, Value)]) -> Row {
    let model = MODELS[table];
    let mut row: Row = model
        .fields
        .iter()
        .map(|field| default_value(table, field))
        .collect();
    for (name, value) in values {
        if let Some(index) = model.field_index(name) {
            row[index] = value.clone();
        }
    }
    row
}

fn put(db: &mut Database, table: TableId, id: i64, values: &[(&str, Value)]) {
    let mut row = row(table, values);
    let model = MODELS[table];
    for (name, value) in [
        ("create_uid", Value::from(ODOOBOT_UID)),
        ("write_uid", Value::from(ODOOBOT_UID)),
        ("create_date", Value::from(SEED_CREATE_DATE)),
        ("write_date", Value::from(SEED_WRITE_DATE)),
    ] {
        if let Some(index) = model.field_index(name) {
            row[index] = value;
        }
    }
    for (name, value) in values {
        if let Some(index) = model.field_index(name) {
            row[index] = value.clone();
        }
    }
    db.insert(table, id, row);
}

const UNITED_STATES: i64 = 233;
const BELGIUM: i64 = 20;
const GERMANY: i64 = 57;
const SPAIN: i64 = 68;
const FRANCE: i64 = 75;
const JAPAN: i64 = 113;
const UNITED_KINGDOM: i64 = 231;

/// (id, name, code, calling code)
const COUNTRIES: &[(i64, &str, &str, i64)] = &[
    (BELGIUM, "Belgium", "BE", 32),
    (GERMANY, "Germany", "DE", 49),
    (SPAIN, "Spain", "ES", 34),
    (FRANCE, "France", "FR", 33),
    (JAPAN, "Japan", "JP", 81),
    (UNITED_KINGDOM, "United Kingdom", "GB", 44),
    (UNITED_STATES, "United States", "US", 1),
];

/// (id, name, color, parent id or 0)
const CATEGORIES: &[(i64, &str, i64, i64)] = &[
    (1, "Vendor", 1, 0),
    (2, "Prospects", 2, 0),
    (3, "Employees", 3, 0),
    (4, "Consulting Services", 4, 0),
    (5, "Office Supplies", 5, 1),
    (6, "Desk Manufacturers", 6, 1),
];

/// One seeded partner: (id, name ("" = none), is_company, parent id or 0, email, function,
/// city, country id or 0).
type PartnerSeed = (
    i64,
    &'static str,
    bool,
    i64,
    &'static str,
    &'static str,
    &'static str,
    i64,
);

#[rustfmt::skip]
const PARTNERS: &[PartnerSeed] = &[
    (1, "YourCompany", true, 0, "info@yourcompany.com", "", "San Francisco", UNITED_STATES),
    (2, "OdooBot", false, 0, "odoobot@example.com", "", "", 0),
    (3, "Mitchell Admin", false, 1, "admin@yourcompany.example.com", "Chief Executive Officer", "Scranton", UNITED_STATES),
    (4, "Public user", false, 1, "", "", "", 0),
    (5, "Marc Demo", false, 1, "mark.brown23@example.com", "Chief Technical Officer", "Scranton", UNITED_STATES),
    (6, "Joel Willis", false, 0, "joel.willis63@example.com", "", "Tracy", UNITED_STATES),
    (7, "Demo Rest User", false, 1, "demo.api@yourcompany.example.com", "Integration", "Scranton", UNITED_STATES),
    (8, "Eric Dupont", false, 1, "eric.dupont@yourcompany.example.com", "Accountant", "Brussels", BELGIUM),
    (9, "Wood Corner", true, 0, "wood.corner26@example.com", "", "Turlock", UNITED_STATES),
    (10, "Deco Addict", true, 0, "deco.addict82@example.com", "", "Pleasant Hill", UNITED_STATES),
    (11, "Gemini Furniture", true, 0, "gemini.furniture39@example.com", "", "Fairfield", UNITED_STATES),
    (12, "Ready Mat", true, 0, "ready.mat28@example.com", "", "Tracy", UNITED_STATES),
    (13, "Lumber Inc", true, 0, "lumber-inc92@example.com", "", "Stockton", UNITED_STATES),
    (14, "The Jackson Group", true, 0, "jackson.group82@example.com", "", "Wilmington", UNITED_STATES),
    (15, "Azure Interior", true, 0, "azure.Interior24@example.com", "", "Fremont", UNITED_STATES),
    (16, "Bright Print Co", true, 0, "info@brightprint.example.be", "", "Brussels", BELGIUM),
    (17, "Willie Burke", false, 10, "willie.burke80@example.com", "Service Manager", "Pleasant Hill", UNITED_STATES),
    (18, "Edwin Hensley", false, 14, "edwin.hensley17@example.com", "Sales Engineer", "Wilmington", UNITED_STATES),
    (19, "Douglas Fletcher", false, 10, "douglas.fletcher51@example.com", "Functional Consultant", "Pleasant Hill", UNITED_STATES),
    (20, "Floyd Steward", false, 12, "floyd.steward34@example.com", "Analyst", "Tracy", UNITED_STATES),
    (21, "Addison Olson", false, 10, "addison.olson28@example.com", "Purchase Manager", "Pleasant Hill", UNITED_STATES),
    (22, "Jeff Lawson", false, 14, "jeff.lawson52@example.com", "Director", "Wilmington", UNITED_STATES),
    (23, "Jesse Brown", false, 11, "jesse.brown74@example.com", "Senior Consultant", "Fairfield", UNITED_STATES),
    (24, "Oscar Morgan", false, 11, "oscar.morgan11@example.com", "Order Clerk", "Fairfield", UNITED_STATES),
    (25, "Lorraine Douglas", false, 12, "lorraine.douglas35@example.com", "Functional Consultant", "Tracy", UNITED_STATES),
    (26, "Kim Snyder", false, 9, "kim.snyder96@example.com", "Sales Manager", "Turlock", UNITED_STATES),
    (27, "Brandon Freeman", false, 15, "brandon.freeman55@example.com", "Creative Director", "Fremont", UNITED_STATES),
    (28, "Nicole Ford", false, 15, "nicole.ford75@example.com", "Office Manager", "Fremont", UNITED_STATES),
    (29, "Toni Jimenez", false, 14, "toni.jimenez40@example.com", "Chief Operations Officer", "Wilmington", UNITED_STATES),
    (30, "Julie Richards", false, 14, "julie.richards84@example.com", "Financial Controller", "Wilmington", UNITED_STATES),
    (31, "Travis Mendoza", false, 13, "travis.mendoza24@example.com", "Technical Support", "Stockton", UNITED_STATES),
    (32, "Theodore Gardner", false, 9, "theodore.gardner36@example.com", "Buyer", "Turlock", UNITED_STATES),
    (33, "Sandra Neal", false, 9, "sandra.neal80@example.com", "Consultant", "Turlock", UNITED_STATES),
    (34, "Colleen Diaz", false, 15, "colleen.diaz83@example.com", "Business Executive", "Fremont", UNITED_STATES),
    (35, "Ron Gibson", false, 16, "ron.gibson76@example.com", "Press Operator", "Brussels", BELGIUM),
    (36, "Edith Sanchez", false, 16, "edith.sanchez68@example.com", "Graphic Designer", "Brussels", BELGIUM),
    (37, "Chester Reed", false, 1, "chester.reed79@example.com", "Chief Operations Officer", "Scranton", UNITED_STATES),
    (38, "Soham Palmer", false, 13, "soham.palmer15@example.com", "Logistics Manager", "Stockton", UNITED_STATES),
    (39, "Gordon Owens", false, 0, "gordon.owens@example.co.uk", "", "London", UNITED_KINGDOM),
    (40, "Kevin Clarke", false, 0, "kevin.clarke@example.fr", "", "Paris", FRANCE),
    (41, "", false, 10, "invoicing@decoaddict.example.com", "", "Pleasant Hill", UNITED_STATES),
    (42, "", false, 11, "", "", "Fairfield", UNITED_STATES),
    (43, "Émilie Laurent", false, 0, "emilie.laurent@example.fr", "Architect", "Lyon", FRANCE),
    (44, "Hans Müller", false, 0, "hans.mueller@example.de", "Carpenter", "Berlin", GERMANY),
    (45, "Gloria Mathis", false, 12, "gloria.mathis@example.com", "Former Buyer", "Tracy", UNITED_STATES),
    (46, "Haruto Sato", false, 0, "haruto.sato@example.jp", "Importer", "Tokyo", JAPAN),
    (47, "Lucía Gómez", false, 0, "lucia.gomez@example.es", "Interior Designer", "Madrid", SPAIN),
    (48, "Ingrid Berg", false, 0, "ingrid.berg@example.com", "", "", 0),
    (49, "Peter Nolan", false, 16, "peter.nolan@example.be", "Accountant", "Brussels", BELGIUM),
    (50, "Laura Stone", false, 13, "laura.stone@example.com", "Buyer", "Stockton", UNITED_STATES),
];

fn text(value: &str) -> Value {
    if value.is_empty() {
        Value::Bool(false)
    } else {
        Value::from(value)
    }
}

fn reference(id: i64) -> Value {
    if id == 0 {
        Value::Bool(false)
    } else {
        Value::from(id)
    }
}

/// The extra values of some partners (everything else keeps its default).
fn partner_extras(id: i64) -> Vec<(&'static str, Value)> {
    let mut extras = match id {
        1 => vec![
            ("phone", json!("+1 555-555-5556")),
            ("website", json!("http://www.example.com")),
            ("street", json!("250 Executive Park Blvd, Suite 3400")),
            ("zip", json!("94134")),
            ("company_id", json!(1)),
        ],
        2 | 4 | 45 => vec![("active", json!(false))],
        3 | 5 | 7 | 8 | 37 => vec![("company_id", json!(1)), ("tz", json!("Europe/Brussels"))],
        9 => vec![
            ("phone", json!("(623)-853-7197")),
            ("website", json!("http://www.wood-corner.com")),
            ("street", json!("1839 Arbor Way")),
            ("zip", json!("95380")),
            ("category_id", json!([5])),
            (
                "comment",
                json!("<p>Pays on time; prefers deliveries on Mondays.</p>"),
            ),
            ("color", json!(3)),
        ],
        10 => vec![
            ("category_id", json!([4])),
            ("phone", json!("(603)-996-3829")),
        ],
        11 => vec![
            ("category_id", json!([6])),
            ("phone", json!("(941)-284-4875")),
        ],
        15 => vec![
            ("category_id", json!([5])),
            ("phone", json!("(870)-931-0505")),
            ("website", json!("http://www.azure-interior.com")),
            ("street", json!("4557 De Silva St")),
            ("zip", json!("94538")),
            ("write_date", json!("2026-11-30 02:50:19")),
        ],
        16 => vec![
            ("vat", json!("BE0477472701")),
            ("category_id", json!([1, 5])),
            ("partner_latitude", json!(50.8466)),
            ("partner_longitude", json!(4.3528)),
            ("color", json!(7)),
        ],
        23 => vec![("company_id", json!(1))],
        27 => vec![("write_date", json!("2026-11-30 02:50:19"))],
        40 => vec![
            ("partner_latitude", json!(48.8566)),
            ("partner_longitude", json!(2.3522)),
            ("category_id", json!([2])),
        ],
        41 => vec![("type", json!("invoice"))],
        42 => vec![
            ("type", json!("delivery")),
            ("street", json!("7 Dock Road")),
        ],
        44 => vec![
            ("mobile", json!("+49 170 1234567")),
            (
                "comment",
                json!("<p>Met at the <b>Cologne</b> fair &amp; ordered samples.</p>"),
            ),
        ],
        46 => vec![("tz", json!("Asia/Tokyo")), ("category_id", json!([2, 4]))],
        _ => Vec::new(),
    };
    if id == 28 || id == 34 {
        extras.push(("mobile", json!("+1 555-0100")));
    }
    extras
}

/// The whole demo dataset.
pub(crate) fn database() -> Database {
    let mut db = Database::empty();
    for &(id, name, code, phone_code) in COUNTRIES {
        put(
            &mut db,
            COUNTRY,
            id,
            &[
                ("name", json!(name)),
                ("code", json!(code)),
                ("phone_code", json!(phone_code)),
            ],
        );
    }
    for &(id, name, color, parent) in CATEGORIES {
        put(
            &mut db,
            CATEGORY,
            id,
            &[
                ("name", json!(name)),
                ("color", json!(color)),
                ("parent_id", reference(parent)),
            ],
        );
    }
    for &(id, name, is_company, parent, email, function, city, country) in PARTNERS {
        let mut values = vec![
            ("name", text(name)),
            ("is_company", Value::Bool(is_company)),
            ("parent_id", reference(parent)),
            ("email", text(email)),
            ("function", text(function)),
            ("city", text(city)),
            ("country_id", reference(country)),
            ("partner_latitude", json!(0.0)),
            ("partner_longitude", json!(0.0)),
        ];
        values.extend(partner_extras(id));
        put(&mut db, PARTNER, id, &values);
    }
    // (id, code, symbol, full name, decimal places, active)
    for (id, name, symbol, full_name, decimals, active) in [
        (1, "USD", "$", "United States dollar", 2, true),
        (125, "EUR", "€", "Euro", 2, true),
        (147, "GBP", "£", "Pound sterling", 2, false),
        (25, "JPY", "¥", "Japanese yen", 0, false),
    ] {
        put(
            &mut db,
            CURRENCY,
            id,
            &[
                ("name", json!(name)),
                ("symbol", json!(symbol)),
                ("full_name", json!(full_name)),
                ("rounding", json!(if decimals == 0 { 1.0 } else { 0.01 })),
                ("decimal_places", json!(decimals)),
                ("active", json!(active)),
            ],
        );
    }
    // (id, date, rate, currency)
    for (id, date, rate, currency) in [
        (125, "2010-01-01", 1.2834, 125),
        (126, "2010-01-01", 0.8467, 147),
    ] {
        put(
            &mut db,
            CURRENCY_RATE,
            id,
            &[
                ("name", json!(date)),
                ("rate", json!(rate)),
                ("company_rate", json!(rate)),
                ("currency_id", json!(currency)),
                ("company_id", json!(1)),
            ],
        );
    }
    put(
        &mut db,
        COMPANY,
        1,
        &[
            ("name", json!("YourCompany")),
            ("partner_id", json!(1)),
            ("email", json!("info@yourcompany.com")),
            ("phone", json!("+1 555-555-5556")),
            ("website", json!("http://www.example.com")),
            ("street", json!("250 Executive Park Blvd, Suite 3400")),
            ("zip", json!("94134")),
            ("city", json!("San Francisco")),
            ("country_id", json!(UNITED_STATES)),
            ("currency_id", json!(1)),
        ],
    );
    // (uid, login, partner, active)
    for (uid, login, partner, active) in [
        (1, "__system__", 2, false),
        (2, "admin", 3, true),
        (6, "demo", 5, true),
        (8, "demo_api", 7, true),
    ] {
        put(
            &mut db,
            USERS,
            uid,
            &[
                ("login", json!(login)),
                ("partner_id", json!(partner)),
                ("active", json!(active)),
                ("tz", json!("Europe/Brussels")),
            ],
        );
    }
    // ir.model ids as in the Odoo 18 database of the transcripts where known (87, 1).
    for (id, table) in [
        (1, IR_MODEL),
        (21, COUNTRY),
        (56, CATEGORY),
        (86, COMPANY),
        (87, PARTNER),
        (92, USERS),
    ] {
        let model = MODELS[table];
        put(
            &mut db,
            IR_MODEL,
            id,
            &[
                ("name", json!(model.description)),
                ("model", json!(model.name)),
                ("order", json!(model.order)),
                ("state", json!("base")),
                ("rest_api", json!(table == PARTNER)),
                ("x_rest_api", json!(table == PARTNER)),
            ],
        );
    }
    db
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dataset_has_what_the_brief_promises() {
        let db = database();
        let partners = db.table(PARTNER);
        assert!(partners.rows.len() >= 40);
        assert_eq!(partners.next_id, 51);
        let model = db.model(PARTNER);
        let is_company = model.field_index("is_company").unwrap_or(0);
        let active = model.field_index("active").unwrap_or(0);
        let companies = partners
            .rows
            .values()
            .filter(|row| row[is_company] == json!(true) && row[active] == json!(true))
            .count();
        assert_eq!(companies, 9);
        assert_eq!(db.table(USERS).next_id, 9);
        for (id, row) in &partners.rows {
            assert_eq!(row.len(), model.fields.len(), "partner {id}");
        }
    }
}
