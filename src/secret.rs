//! [`Secret`]: a password, API key or token that never reaches a log line, an error message or
//! a `Debug` output. The only way to read it is [`Secret::expose`].

use std::fmt;

/// A string that is never formatted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it (the upstream call).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where a URL's authority ends after `scheme://`: at the first `/`, `?` or `#`.
fn authority_end(rest: &str) -> usize {
    rest.find(['/', '?', '#']).unwrap_or(rest.len())
}

/// Whether a URL carries a `user:password@` (or `user@`) part before its host.
pub fn has_userinfo(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest[..authority_end(rest)].contains('@')
}

/// The URL with any `user:password@` part replaced by `***@`, for messages and `Debug`.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let end = authority_end(rest);
    let rest = match rest[..end].rsplit_once('@') {
        Some((_, host)) => format!("***@{host}{}", &rest[end..]),
        None => rest.to_owned(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{rest}"),
        None => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::{has_userinfo, redact_url, Secret};

    #[test]
    fn userinfo_is_found_and_redacted_in_the_authority_only() {
        for (url, has, redacted) in [
            ("http://u:p%40ss@erp:8069/x", true, "http://***@erp:8069/x"),
            ("https://user@erp", true, "https://***@erp"),
            (
                "http://erp:8069/a@b?c=@#@",
                false,
                "http://erp:8069/a@b?c=@#@",
            ),
            ("http://erp?x=a@b", false, "http://erp?x=a@b"),
            ("u:p@erp", true, "***@erp"),
        ] {
            assert_eq!(has_userinfo(url), has, "{url}");
            assert_eq!(redact_url(url), redacted, "{url}");
        }
    }

    #[test]
    fn debug_hides_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.expose(), "hunter2");
    }
}
