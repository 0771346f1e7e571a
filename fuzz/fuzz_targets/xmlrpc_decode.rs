//! Fuzzes the XML-RPC decoders: no input may make them panic, every error offset lies within
//! the input, and whatever decodes re-encodes to bytes that decode to the same thing.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/xmlrpc.rs"]
#[allow(dead_code)]
mod xmlrpc;

use xmlrpc::Fault;

fuzz_target!(|data: &[u8]| {
    match xmlrpc::decode_response(data) {
        Ok(Ok(value)) => {
            let mut out = Vec::new();
            xmlrpc::encode_response(&mut out, &value);
            assert_eq!(xmlrpc::decode_response(&out), Ok(Ok(value)));
        }
        Ok(Err(Fault { code, string })) => {
            let mut out = Vec::new();
            xmlrpc::encode_fault_code(&mut out, &code, &string);
            let again = xmlrpc::decode_response(&out);
            assert_eq!(again, Ok(Err(Fault { code, string })));
        }
        Err(error) => assert!(error.offset <= data.len()),
    }
    match xmlrpc::decode_call(data) {
        Ok((method, params)) => {
            let mut out = Vec::new();
            xmlrpc::encode_call(&mut out, &method, &params);
            assert_eq!(xmlrpc::decode_call(&out), Ok((method, params)));
        }
        Err(error) => assert!(error.offset <= data.len()),
    }
});
