//! The in-memory token store: issue, look up, revoke and expire access tokens. No I/O.
