//! XML-RPC codec: `methodCall` and `methodResponse` bytes to and from `serde_json::Value`.
//! It does no I/O. Encoding follows CPython's `xmlrpc.client` (the marshaller Odoo uses);
//! decoding accepts everything that `xmlrpc.client.loads` accepts.

use serde_json::Value;

/// The `faultCode` of a fault: an int on `/xmlrpc/2/...`, a string on the legacy endpoints.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultCode {
    Int(i64),
    Text(String),
}

/// An XML-RPC `<fault>`: the upstream refused the call.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub code: FaultCode,
    pub string: String,
}

/// Why a body could not be decoded, and at which byte.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} at byte {offset}")]
pub struct DecodeError {
    pub offset: usize,
    pub message: String,
}

/// Decodes a `methodResponse` into its single param, or into a fault.
pub fn decode_response(input: &[u8]) -> Result<Result<Value, Fault>, DecodeError> {
    let _ = input;
    unimplemented!("codec")
}

/// Decodes a `methodCall` into its method name and params (used by the demo ERP).
pub fn decode_call(input: &[u8]) -> Result<(String, Vec<Value>), DecodeError> {
    let _ = input;
    unimplemented!("codec")
}

/// Appends a `methodCall` to `out`, as Python's `xmlrpc.client.dumps(params, method)` does.
pub fn encode_call(out: &mut Vec<u8>, method: &str, params: &[Value]) {
    let _ = (out, method, params);
    unimplemented!("codec")
}

/// Appends a successful `methodResponse` to `out`, laid out byte for byte as Odoo 18 sends it.
pub fn encode_response(out: &mut Vec<u8>, value: &Value) {
    let _ = (out, value);
    unimplemented!("codec")
}

/// Appends a fault `methodResponse` to `out`, laid out byte for byte as Odoo 18 sends it.
pub fn encode_fault(out: &mut Vec<u8>, code: i64, string: &str) {
    let _ = (out, code, string);
    unimplemented!("codec")
}
