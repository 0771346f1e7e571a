//! Which wire a call travels on: XML-RPC (`/xmlrpc/2/...`) or Odoo 19's JSON-2
//! (`/json/2/<model>/<method>`), and how `[upstream] protocol` picks one.

use std::sync::atomic::{AtomicU8, Ordering};

/// The wire of one session (chosen at login) or one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    XmlRpc,
    Json2,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::XmlRpc => "xmlrpc",
            Protocol::Json2 => "json2",
        }
    }
}

/// `[upstream] protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProtocolChoice {
    /// JSON-2 where the ERP is 19 or later (`GET /web/version`) and the credential is an API
    /// key; XML-RPC otherwise.
    #[default]
    Auto,
    XmlRpc,
    Json2,
}

impl std::str::FromStr for ProtocolChoice {
    type Err = String;
    fn from_str(text: &str) -> Result<ProtocolChoice, String> {
        match text {
            "auto" => Ok(ProtocolChoice::Auto),
            "xmlrpc" => Ok(ProtocolChoice::XmlRpc),
            "json2" => Ok(ProtocolChoice::Json2),
            other => Err(format!(
                "{other:?} is not one of \"auto\", \"xmlrpc\", \"json2\""
            )),
        }
    }
}

/// What `auto` found out about the ERP; shared by every thread's client.
#[derive(Debug, Default)]
pub(super) struct Detected(AtomicU8);

const UNKNOWN: u8 = 0;
const BEFORE_19: u8 = 1;
const FROM_19: u8 = 2;

impl Detected {
    /// `Some(true)` when the ERP is 19 or later, `None` when not asked yet (or forgotten).
    pub(super) fn json2(&self) -> Option<bool> {
        match self.0.load(Ordering::Relaxed) {
            BEFORE_19 => Some(false),
            FROM_19 => Some(true),
            _ => None,
        }
    }

    pub(super) fn set(&self, json2: bool) {
        self.0
            .store(if json2 { FROM_19 } else { BEFORE_19 }, Ordering::Relaxed);
    }

    /// Forgets the answer (the ERP went away): the next login asks again.
    pub(super) fn forget(&self) {
        self.0.store(UNKNOWN, Ordering::Relaxed);
    }
}
