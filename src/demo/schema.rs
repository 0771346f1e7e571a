//! The demo ERP's models and fields, as static tables: names, labels, types and the flags that
//! `fields_get` reports. It holds no records (see `data`) and does no I/O.

/// The type of a field, with what `fields_get` needs to describe it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Char,
    Text,
    Html,
    Integer,
    Float,
    Boolean,
    Date,
    Datetime,
    Binary,
    Selection(&'static [(&'static str, &'static str)]),
    /// Target model.
    Many2one(&'static str),
    /// Target model and the many2one on it that points back.
    One2many(&'static str, &'static str),
    /// Target model.
    Many2many(&'static str),
}

impl Kind {
    /// The name Odoo gives this type in `fields_get`.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Kind::Char => "char",
            Kind::Text => "text",
            Kind::Html => "html",
            Kind::Integer => "integer",
            Kind::Float => "float",
            Kind::Boolean => "boolean",
            Kind::Date => "date",
            Kind::Datetime => "datetime",
            Kind::Binary => "binary",
            Kind::Selection(_) => "selection",
            Kind::Many2one(_) => "many2one",
            Kind::One2many(..) => "one2many",
            Kind::Many2many(_) => "many2many",
        }
    }

    /// The model a relational field points to.
    pub(crate) fn relation(self) -> Option<&'static str> {
        match self {
            Kind::Many2one(model) | Kind::One2many(model, _) | Kind::Many2many(model) => {
                Some(model)
            }
            _ => None,
        }
    }

    pub(crate) fn is_x2many(self) -> bool {
        matches!(self, Kind::One2many(..) | Kind::Many2many(_))
    }
}

/// How a field that is not stored on the record gets its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Compute {
    /// The record id.
    Id,
    /// The record's display name (model specific).
    DisplayName,
    /// `res.partner.complete_name`: "Company, Person".
    CompleteName,
    /// The value of `field` on the record that the many2one `via` points to; writable through.
    Related {
        via: &'static str,
        field: &'static str,
    },
    /// The ids of the records whose many2one points here (the field is a one2many).
    Inverse,
    /// `res.partner.company_type`, from `is_company`; writable through.
    CompanyType,
    /// `res.partner.commercial_partner_id`: the topmost company, or the partner itself.
    CommercialPartner,
    /// `res.partner.commercial_company_name`.
    CommercialCompanyName,
    /// `res.partner.email_formatted`: `"Name" <email>`.
    EmailFormatted,
}

/// One field of a model.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) string: &'static str,
    pub(crate) kind: Kind,
    pub(crate) required: bool,
    pub(crate) readonly: bool,
    pub(crate) compute: Option<Compute>,
}

impl Field {
    pub(crate) fn is_stored(&self) -> bool {
        self.compute.is_none()
    }
}

const fn field(name: &'static str, string: &'static str, kind: Kind) -> Field {
    Field {
        name,
        string,
        kind,
        required: false,
        readonly: false,
        compute: None,
    }
}

const fn required(name: &'static str, string: &'static str, kind: Kind) -> Field {
    Field {
        required: true,
        ..field(name, string, kind)
    }
}

const fn readonly(name: &'static str, string: &'static str, kind: Kind) -> Field {
    Field {
        readonly: true,
        ..field(name, string, kind)
    }
}

const fn computed(name: &'static str, string: &'static str, kind: Kind, compute: Compute) -> Field {
    Field {
        readonly: true,
        compute: Some(compute),
        ..field(name, string, kind)
    }
}

const fn related(name: &'static str, string: &'static str, kind: Kind, via: &'static str) -> Field {
    Field {
        compute: Some(Compute::Related { via, field: name }),
        ..field(name, string, kind)
    }
}

const fn one2many(
    name: &'static str,
    string: &'static str,
    model: &'static str,
    inverse: &'static str,
) -> Field {
    Field {
        compute: Some(Compute::Inverse),
        ..field(name, string, Kind::One2many(model, inverse))
    }
}

/// One model: its technical name, description (used in access errors), default order and fields.
#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    /// The `_order` used when a search gives none.
    pub(crate) order: &'static str,
    pub(crate) fields: &'static [Field],
}

impl Model {
    pub(crate) fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|field| field.name == name)
    }

    pub(crate) fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|field| field.name == name)
    }
}

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

/// The index of field `name` in `model`, computed at compile time (a missing name fails the
/// build, never a request).
pub(crate) const fn index_of(model: &Model, name: &str) -> usize {
    let mut index = 0;
    while index < model.fields.len() {
        let candidate = model.fields[index].name.as_bytes();
        let wanted = name.as_bytes();
        if candidate.len() == wanted.len() {
            let mut byte = 0;
            while byte < wanted.len() && candidate[byte] == wanted[byte] {
                byte += 1;
            }
            if byte == wanted.len() {
                return index;
            }
        }
        index += 1;
    }
    panic!("unknown field in a schema constant")
}

/// Indexes of the `res.partner` fields that computed fields read.
pub(crate) mod partner {
    use super::{index_of, PARTNER};

    pub(crate) const NAME: usize = index_of(&PARTNER, "name");
    pub(crate) const PARENT_ID: usize = index_of(&PARTNER, "parent_id");
    pub(crate) const IS_COMPANY: usize = index_of(&PARTNER, "is_company");
    pub(crate) const TYPE: usize = index_of(&PARTNER, "type");
    pub(crate) const COMPANY_NAME: usize = index_of(&PARTNER, "company_name");
    pub(crate) const EMAIL: usize = index_of(&PARTNER, "email");
}

pub(crate) fn model_index(name: &str) -> Option<usize> {
    MODELS.iter().position(|model| model.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_relation_points_to_a_known_model_and_inverse() {
        for model in MODELS {
            for field in model.fields {
                if let Some(target) = field.kind.relation() {
                    let target_index = model_index(target);
                    assert!(target_index.is_some(), "{}.{}", model.name, field.name);
                    if let Kind::One2many(target, inverse) = field.kind {
                        let comodel = MODELS[model_index(target).unwrap_or(0)];
                        let back = comodel.field(inverse).map(|field| field.kind);
                        assert_eq!(back, Some(Kind::Many2one(model.name)));
                    }
                }
            }
        }
    }

    #[test]
    fn field_names_are_unique_and_magic_fields_come_last() {
        for model in MODELS {
            for (index, field) in model.fields.iter().enumerate() {
                assert_eq!(model.field_index(field.name), Some(index), "{}", field.name);
            }
            let last = model.fields.last().map(|field| field.name);
            assert_eq!(last, Some("write_date"));
        }
    }

    #[test]
    fn related_fields_follow_a_many2one() {
        for model in MODELS {
            for field in model.fields {
                if let Some(Compute::Related {
                    via,
                    field: target_field,
                }) = field.compute
                {
                    let Some(Kind::Many2one(target)) = model.field(via).map(|via| via.kind) else {
                        panic!(
                            "{}.{} is not related through a many2one",
                            model.name, field.name
                        );
                    };
                    let comodel = MODELS[model_index(target).unwrap_or(0)];
                    assert!(comodel.field(target_field).is_some());
                }
            }
        }
    }
}
