//! The types that describe the demo ERP's models and fields (names, labels, types and the
//! flags that `fields_get` reports), and lookups over [`MODELS`]. The definitions themselves
//! are in `models`; records in `data`. No I/O.

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

pub(crate) const fn field(name: &'static str, string: &'static str, kind: Kind) -> Field {
    Field {
        name,
        string,
        kind,
        required: false,
        readonly: false,
        compute: None,
    }
}

pub(crate) const fn required(name: &'static str, string: &'static str, kind: Kind) -> Field {
    Field {
        required: true,
        ..field(name, string, kind)
    }
}

pub(crate) const fn readonly(name: &'static str, string: &'static str, kind: Kind) -> Field {
    Field {
        readonly: true,
        ..field(name, string, kind)
    }
}

pub(crate) const fn computed(
    name: &'static str,
    string: &'static str,
    kind: Kind,
    compute: Compute,
) -> Field {
    Field {
        readonly: true,
        compute: Some(compute),
        ..field(name, string, kind)
    }
}

pub(crate) const fn related(
    name: &'static str,
    string: &'static str,
    kind: Kind,
    via: &'static str,
) -> Field {
    Field {
        compute: Some(Compute::Related { via, field: name }),
        ..field(name, string, kind)
    }
}

pub(crate) const fn one2many(
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
    use super::index_of;
    use crate::demo::models::PARTNER;

    pub(crate) const NAME: usize = index_of(&PARTNER, "name");
    pub(crate) const PARENT_ID: usize = index_of(&PARTNER, "parent_id");
    pub(crate) const IS_COMPANY: usize = index_of(&PARTNER, "is_company");
    pub(crate) const TYPE: usize = index_of(&PARTNER, "type");
    pub(crate) const COMPANY_NAME: usize = index_of(&PARTNER, "company_name");
    pub(crate) const EMAIL: usize = index_of(&PARTNER, "email");
}

pub(crate) use super::models::{ADDRESS_TYPES, MODELS};

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
