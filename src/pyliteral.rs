//! Parser for the Python-literal strings that Flectra's `rest_api` reads with `ast.literal_eval`
//! (`field`, `filters`). It does no I/O and evaluates nothing.

use serde_json::Value;

/// Why a literal could not be parsed, and at which byte.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} at byte {offset}")]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

/// Parses one Python literal into a JSON value (tuples become arrays, None null).
pub fn parse(input: &str) -> Result<Value, ParseError> {
    let _ = input;
    unimplemented!("pyliteral")
}
