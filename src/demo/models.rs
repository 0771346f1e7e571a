//! The demo ERP's models: every field of res.partner, res.users, res.company, res.country,
//! res.partner.category, ir.model, res.currency and res.currency.rate, with Odoo 18's labels,
//! and the selection lists. Definitions only; the types live in `schema`.

use super::schema::{
    computed, field, one2many, readonly, related, required, Compute, Field, Kind, Model,
};

pub(crate) const LANGS: &[(&str, &str)] = &[("en_US", "English (US)")];

/// A short list of time zones (the real one has ~600).
pub(crate) const TIME_ZONES: &[(&str, &str)] = &[
    ("America/New_York", "America/New_York"),
    ("Asia/Kolkata", "Asia/Kolkata"),
    ("Asia/Tokyo", "Asia/Tokyo"),
    ("Europe/Brussels", "Europe/Brussels"),
    ("Europe/London", "Europe/London"),
    ("Europe/Paris", "Europe/Paris"),
    ("UTC", "UTC"),
];

pub(crate) const ADDRESS_TYPES: &[(&str, &str)] = &[
    ("contact", "Contact"),
    ("invoice", "Invoice Address"),
    ("delivery", "Delivery Address"),
    ("other", "Other Address"),
];

pub(crate) const COMPANY_TYPES: &[(&str, &str)] =
    &[("person", "Individual"), ("company", "Company")];

const MODEL_STATES: &[(&str, &str)] = &[("manual", "Custom Object"), ("base", "Base Object")];

/// The fields every model has, last in its list.
macro_rules! magic_fields {
    () => {
        [
            computed("id", "ID", Kind::Integer, Compute::Id),
            computed(
                "display_name",
                "Display Name",
                Kind::Char,
                Compute::DisplayName,
            ),
            readonly("create_uid", "Created by", Kind::Many2one("res.users")),
            readonly("create_date", "Created on", Kind::Datetime),
            readonly("write_uid", "Last Updated by", Kind::Many2one("res.users")),
            readonly("write_date", "Last Updated on", Kind::Datetime),
        ]
    };
}

macro_rules! fields {
    ($($field:expr),* $(,)?) => {{
        const OWN: &[Field] = &[$($field),*];
        const MAGIC: [Field; 6] = magic_fields!();
        const ALL: [Field; OWN.len() + 6] = {
            let mut all = [MAGIC[0]; OWN.len() + 6];
            let mut index = 0;
            while index < OWN.len() {
                all[index] = OWN[index];
                index += 1;
            }
            let mut magic = 0;
            while magic < 6 {
                all[OWN.len() + magic] = MAGIC[magic];
                magic += 1;
            }
            all
        };
        &ALL
    }};
}

pub(crate) const PARTNER: Model = Model {
    name: "res.partner",
    description: "Contact",
    order: "complete_name asc, id desc",
    fields: fields![
        field("name", "Name", Kind::Char),
        computed(
            "complete_name",
            "Complete Name",
            Kind::Char,
            Compute::CompleteName
        ),
        field(
            "parent_id",
            "Related Company",
            Kind::Many2one("res.partner")
        ),
        computed(
            "parent_name",
            "Parent name",
            Kind::Char,
            Compute::Related {
                via: "parent_id",
                field: "name"
            }
        ),
        one2many("child_ids", "Contact", "res.partner", "parent_id"),
        field("ref", "Reference", Kind::Char),
        field("lang", "Language", Kind::Selection(LANGS)),
        field("tz", "Timezone", Kind::Selection(TIME_ZONES)),
        field("user_id", "Salesperson", Kind::Many2one("res.users")),
        field("vat", "Tax ID", Kind::Char),
        field("website", "Website Link", Kind::Char),
        field("comment", "Notes", Kind::Html),
        field(
            "category_id",
            "Tags",
            Kind::Many2many("res.partner.category")
        ),
        field("active", "Active", Kind::Boolean),
        field("employee", "Employee", Kind::Boolean),
        field("function", "Job Position", Kind::Char),
        field("type", "Address Type", Kind::Selection(ADDRESS_TYPES)),
        field("street", "Street", Kind::Char),
        field("street2", "Street2", Kind::Char),
        field("zip", "Zip", Kind::Char),
        field("city", "City", Kind::Char),
        field("country_id", "Country", Kind::Many2one("res.country")),
        computed(
            "country_code",
            "Country Code",
            Kind::Char,
            Compute::Related {
                via: "country_id",
                field: "code"
            }
        ),
        field("partner_latitude", "Geo Latitude", Kind::Float),
        field("partner_longitude", "Geo Longitude", Kind::Float),
        field("email", "Email", Kind::Char),
        computed(
            "email_formatted",
            "Formatted Email",
            Kind::Char,
            Compute::EmailFormatted
        ),
        field("phone", "Phone", Kind::Char),
        field("mobile", "Mobile", Kind::Char),
        field("is_company", "Is a Company", Kind::Boolean),
        Field {
            compute: Some(Compute::CompanyType),
            ..field(
                "company_type",
                "Company Type",
                Kind::Selection(COMPANY_TYPES)
            )
        },
        field("company_id", "Company", Kind::Many2one("res.company")),
        field("color", "Color Index", Kind::Integer),
        one2many("user_ids", "Users", "res.users", "partner_id"),
        computed(
            "commercial_partner_id",
            "Commercial Entity",
            Kind::Many2one("res.partner"),
            Compute::CommercialPartner
        ),
        computed(
            "commercial_company_name",
            "Company Name Entity",
            Kind::Char,
            Compute::CommercialCompanyName
        ),
        field("company_name", "Company Name", Kind::Char),
        field("barcode", "Barcode", Kind::Char),
        readonly("image_128", "Image 128", Kind::Binary),
    ],
};

pub(crate) const USERS: Model = Model {
    name: "res.users",
    description: "User",
    order: "name, login",
    fields: fields![
        required("login", "Login", Kind::Char),
        Field {
            required: true,
            ..related("name", "Name", Kind::Char, "partner_id")
        },
        related("email", "Email", Kind::Char, "partner_id"),
        required(
            "partner_id",
            "Related Partner",
            Kind::Many2one("res.partner")
        ),
        required("company_id", "Company", Kind::Many2one("res.company")),
        field("company_ids", "Companies", Kind::Many2many("res.company")),
        field("lang", "Language", Kind::Selection(LANGS)),
        field("tz", "Timezone", Kind::Selection(TIME_ZONES)),
        field("active", "Active", Kind::Boolean),
        readonly("share", "Share User", Kind::Boolean),
        readonly("login_date", "Latest authentication", Kind::Datetime),
        field("signature", "Email Signature", Kind::Html),
    ],
};

pub(crate) const COMPANY: Model = Model {
    name: "res.company",
    description: "Companies",
    order: "sequence, name",
    fields: fields![
        required("name", "Company Name", Kind::Char),
        required("partner_id", "Partner", Kind::Many2one("res.partner")),
        field("email", "Email", Kind::Char),
        field("phone", "Phone", Kind::Char),
        field("website", "Website Link", Kind::Char),
        field("street", "Street", Kind::Char),
        field("zip", "Zip", Kind::Char),
        field("city", "City", Kind::Char),
        field("country_id", "Country", Kind::Many2one("res.country")),
        field("currency_id", "Currency", Kind::Many2one("res.currency")),
        field("sequence", "Sequence", Kind::Integer),
        field("active", "Active", Kind::Boolean),
    ],
};

pub(crate) const COUNTRY: Model = Model {
    name: "res.country",
    description: "Country",
    order: "name",
    fields: fields![
        required("name", "Country Name", Kind::Char),
        field("code", "Country Code", Kind::Char),
        field("phone_code", "Country Calling Code", Kind::Integer),
    ],
};

pub(crate) const CATEGORY: Model = Model {
    name: "res.partner.category",
    description: "Partner Tags",
    order: "name",
    fields: fields![
        required("name", "Tag Name", Kind::Char),
        field("color", "Color", Kind::Integer),
        field(
            "parent_id",
            "Parent Category",
            Kind::Many2one("res.partner.category")
        ),
        field("active", "Active", Kind::Boolean),
    ],
};

pub(crate) const IR_MODEL: Model = Model {
    name: "ir.model",
    description: "Models",
    order: "model",
    fields: fields![
        required("name", "Model Description", Kind::Char),
        required("model", "Model", Kind::Char),
        field("order", "Order", Kind::Char),
        field("info", "Information", Kind::Text),
        readonly("state", "Type", Kind::Selection(MODEL_STATES)),
        readonly("transient", "Transient Model", Kind::Boolean),
        field("rest_api", "REST API", Kind::Boolean),
        field("x_rest_api", "REST API (manual field)", Kind::Boolean),
    ],
};

pub(crate) const CURRENCY: Model = Model {
    name: "res.currency",
    description: "Currency",
    order: "active desc, name",
    fields: fields![
        required("name", "Currency", Kind::Char),
        required("symbol", "Symbol", Kind::Char),
        field("full_name", "Name", Kind::Char),
        field("rounding", "Rounding Factor", Kind::Float),
        field("decimal_places", "Decimal Places", Kind::Integer),
        field("active", "Active", Kind::Boolean),
        one2many("rate_ids", "Rates", "res.currency.rate", "currency_id"),
    ],
};

pub(crate) const CURRENCY_RATE: Model = Model {
    name: "res.currency.rate",
    description: "Currency Rate",
    order: "name desc",
    fields: fields![
        required("name", "Date", Kind::Date),
        field("rate", "Technical Rate", Kind::Float),
        field("company_rate", "Company Rate", Kind::Float),
        required("currency_id", "Currency", Kind::Many2one("res.currency")),
        field("company_id", "Company", Kind::Many2one("res.company")),
    ],
};

/// Every model, in a fixed order: a model's position here is its index in the database.
pub(crate) const MODELS: [&Model; 8] = [
    &PARTNER,
    &USERS,
    &COMPANY,
    &COUNTRY,
    &CATEGORY,
    &IR_MODEL,
    &CURRENCY,
    &CURRENCY_RATE,
];
