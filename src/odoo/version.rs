//! The upstream's version, as `common.version()` reports it, and what it means for the calls
//! the proxy makes. Fetched once per `OdooClient` (and its clones) and cached. No I/O here.

use serde_json::Value;

/// The upstream ERP's version: `server_version_info[0..2]`, e.g. Odoo `18.0` or Flectra `1.4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerVersion {
    pub major: i64,
    pub minor: i64,
}

impl ServerVersion {
    /// Reads the answer of `common.version()`: `server_version_info` (`[1, 4, 0, "final", 0,
    /// ""]`), else the leading numbers of `server_serie` or `server_version` (`"1.4"`,
    /// `"saas~17.2"` is not a number and is refused).
    pub fn from_answer(answer: &Value) -> Option<ServerVersion> {
        if let Some([major, minor, ..]) = answer
            .get("server_version_info")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            if let (Some(major), Some(minor)) = (major.as_i64(), minor.as_i64()) {
                return Some(ServerVersion { major, minor });
            }
        }
        ["server_serie", "server_version"].iter().find_map(|key| {
            let text = answer.get(*key)?.as_str()?;
            let mut parts = text.split(['.', '+', '-']);
            let major = parts.next()?.trim().parse().ok()?;
            let minor = parts
                .next()
                .and_then(|minor| minor.trim().parse().ok())
                .unwrap_or(0);
            Some(ServerVersion { major, minor })
        })
    }

    /// Whether `unlink` of an id that does not exist succeeds silently: Flectra 1.x (built on
    /// Odoo 11, recorded in tests/fixtures/flectra14/22) and Odoo 11 and older (OpenERP 5 to
    /// 7 included). Odoo 12 and later, and Flectra 2 and later, answer a missing-record fault.
    pub fn unlink_is_silent(self) -> bool {
        self.major == 1 || (5..=11).contains(&self.major)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_recorded_version_answers() {
        let flectra = json!({"server_version": "1.4", "server_version_info": [1, 4, 0, "final",
            0, ""], "server_serie": "1.4", "protocol_version": 1});
        let odoo = json!({"server_version": "18.0", "server_version_info": [18, 0, 0, "final",
            0, ""], "server_serie": "18.0", "protocol_version": 1});
        let flectra = ServerVersion::from_answer(&flectra).expect("a version");
        assert_eq!(flectra, ServerVersion { major: 1, minor: 4 });
        assert!(flectra.unlink_is_silent());
        let odoo = ServerVersion::from_answer(&odoo).expect("a version");
        assert_eq!(
            odoo,
            ServerVersion {
                major: 18,
                minor: 0
            }
        );
        assert!(!odoo.unlink_is_silent());
        let serie = ServerVersion::from_answer(&json!({"server_serie": "11.0"}));
        assert_eq!(
            serie,
            Some(ServerVersion {
                major: 11,
                minor: 0
            })
        );
        assert!(serie.is_some_and(ServerVersion::unlink_is_silent));
        for major in [2, 3, 12, 14, 17, 19] {
            assert!(
                !ServerVersion { major, minor: 0 }.unlink_is_silent(),
                "{major}"
            );
        }
        assert_eq!(
            ServerVersion::from_answer(&json!({"server_serie": "saas~17.2"})),
            None
        );
        assert_eq!(ServerVersion::from_answer(&json!([])), None);
    }
}
