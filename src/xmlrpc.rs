//! XML-RPC codec: `methodCall` and `methodResponse` bytes to and from `serde_json::Value`.
//! It does no I/O. Encoding follows CPython's `xmlrpc.client` (the marshaller Odoo uses);
//! decoding accepts everything that `xmlrpc.client.loads` accepts.
//!
//! The decoder is one pass over the bytes. The markup Odoo writes (tags without attributes or
//! spaces, text without references) is read straight from the slice; everything else
//! (references, CDATA, comments, processing instructions, DOCTYPE, attributes, malformed
//! input) is tokenized by quick-xml, one piece at a time, from where the plain reading stopped.
//! End tags are matched here on both paths. A small stack of open elements says what may come
//! next. Text that needs no
//! unescaping is borrowed from the input; array items and struct members are collected on two
//! scratch stacks and moved into exactly-sized `Vec`s and `Map`s. It does not check that
//! characters are allowed by XML 1.0, and it refuses what is not XML-RPC (unknown value types,
//! text between structural elements), where Python would sometimes silently ignore it.

use std::borrow::Cow;

use quick_xml::events::{BytesRef, Event};
use quick_xml::Reader;
use serde_json::{Number, Value};

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

/// How deeply arrays and structs may nest before decoding gives up.
pub const MAX_DEPTH: usize = 256;

/// Decodes a `methodResponse` into its single param, or into a fault.
pub fn decode_response(input: &[u8]) -> Result<Result<Value, Fault>, DecodeError> {
    match decode(input, Root::Response, ValueSink::default())?.0 {
        Decoded::Response(response) => Ok(response),
        Decoded::Call(..) => Err(DecodeError {
            offset: 0,
            message: "not a methodResponse".to_owned(),
        }),
    }
}

/// Decodes a `methodCall` into its method name and params (used by the demo ERP).
pub fn decode_call(input: &[u8]) -> Result<(String, Vec<Value>), DecodeError> {
    match decode(input, Root::Call, ValueSink::default())?.0 {
        Decoded::Call(method, params) => Ok((method, params)),
        Decoded::Response(_) => Err(DecodeError {
            offset: 0,
            message: "not a methodCall".to_owned(),
        }),
    }
}

/// The JSON text of a `methodResponse`'s param, from [`transcode_response`].
#[derive(Debug, Clone, PartialEq)]
pub struct Json {
    /// Exactly the bytes `serde_json::to_vec` writes for the value [`decode_response`] returns.
    pub text: Vec<u8>,
    /// The number of items when the value is an array.
    pub array_len: Option<usize>,
}

/// Decodes a `methodResponse` straight into JSON text, without building a `Value`: the same
/// checks and errors as [`decode_response`], the same fault, and the bytes `serde_json` would
/// write for its value.
pub fn transcode_response(input: &[u8]) -> Result<Result<Json, Fault>, DecodeError> {
    // JSON text is about a third of the XML-RPC bytes (a tenth for short answers): one
    // allocation instead of regrowth and copies.
    let sink = JsonSink {
        out: Vec::with_capacity(input.len() / 2),
        ..JsonSink::default()
    };
    let (decoded, sink) = decode(input, Root::Response, sink)?;
    match decoded {
        Decoded::Response(response) => Ok(response.map(|_| Json {
            text: sink.out,
            array_len: sink.array_len,
        })),
        Decoded::Call(..) => Err(DecodeError {
            offset: 0,
            message: "not a methodResponse".to_owned(),
        }),
    }
}

/// Appends a `methodCall` to `out`, as Python's `xmlrpc.client.dumps(params, method)` does.
///
/// Two deliberate differences, both for bytes Python would send broken: the method name is
/// escaped, and a carriage return in a string is sent as `&#13;` (an XML parser would read a
/// raw one as a line feed).
pub fn encode_call(out: &mut Vec<u8>, method: &str, params: &[Value]) {
    write_call(out, method, params.iter().map(Param::Value));
}

/// One param of [`encode_call_params`]: a string or an int the caller holds (so that it need
/// not be copied into a `Value` first), a password sent as a string, or any value.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    Str(&'a str),
    Int(i64),
    /// A password or API key: written as a string, shown as `Secret(***)` by `Debug`.
    Secret(&'a crate::secret::Secret),
    Value(&'a Value),
}

/// [`encode_call`] for params held as [`Param`]s: the same bytes, no `Value` built.
pub fn encode_call_params(out: &mut Vec<u8>, method: &str, params: &[Param<'_>]) {
    write_call(out, method, params.iter().copied());
}

fn write_call<'a>(out: &mut Vec<u8>, method: &str, params: impl Iterator<Item = Param<'a>>) {
    out.extend_from_slice(b"<?xml version='1.0'?>\n<methodCall>\n<methodName>");
    write_escaped(out, method);
    out.extend_from_slice(b"</methodName>\n<params>\n");
    for param in params {
        out.extend_from_slice(b"<param>\n");
        match param {
            Param::Str(text) => write_string(out, text),
            Param::Secret(secret) => write_string(out, secret.expose()),
            Param::Int(int) => write_int(out, int),
            Param::Value(value) => write_value(out, value),
        }
        out.extend_from_slice(b"</param>\n");
    }
    out.extend_from_slice(b"</params>\n</methodCall>\n");
}

/// Appends a successful `methodResponse` to `out`, laid out byte for byte as Odoo 18 sends it.
pub fn encode_response(out: &mut Vec<u8>, value: &Value) {
    out.extend_from_slice(b"<?xml version=\"1.0\"?>\n<methodResponse>\n<params>\n<param>\n");
    write_value(out, value);
    out.extend_from_slice(b"</param>\n</params>\n\n</methodResponse>\n");
}

/// Appends a fault `methodResponse` to `out`, laid out byte for byte as Odoo 18 sends it.
pub fn encode_fault(out: &mut Vec<u8>, code: i64, string: &str) {
    encode_fault_code(out, &FaultCode::Int(code), string);
}

/// Like [`encode_fault`], for any `faultCode` (the legacy endpoints send a string).
pub fn encode_fault_code(out: &mut Vec<u8>, code: &FaultCode, string: &str) {
    out.extend_from_slice(b"<?xml version=\"1.0\"?>\n<methodResponse>\n<fault>\n");
    out.extend_from_slice(b"<value><struct>\n<member>\n<name>faultCode</name>\n");
    match code {
        FaultCode::Int(code) => write_int(out, *code),
        FaultCode::Text(code) => write_string(out, code),
    }
    out.extend_from_slice(b"</member>\n<member>\n<name>faultString</name>\n");
    write_string(out, string);
    out.extend_from_slice(b"</member>\n</struct></value>\n</fault>\n\n</methodResponse>\n");
}

// ---------------------------------------------------------------------------------------------
// Encoding

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"<value><nil/></value>"),
        Value::Bool(flag) => out.extend_from_slice(if *flag {
            b"<value><boolean>1</boolean></value>\n"
        } else {
            b"<value><boolean>0</boolean></value>\n"
        }),
        Value::Number(number) => {
            if let Some(int) = number.as_i64() {
                write_int(out, int);
            } else if let Some(int) = number.as_u64() {
                out.extend_from_slice(b"<value><i8>");
                out.extend_from_slice(int.to_string().as_bytes());
                out.extend_from_slice(b"</i8></value>\n");
            } else {
                out.extend_from_slice(b"<value><double>");
                write_python_float(out, number.as_f64().unwrap_or(0.0));
                out.extend_from_slice(b"</double></value>\n");
            }
        }
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.extend_from_slice(b"<value><array><data>\n");
            for item in items {
                write_value(out, item);
            }
            out.extend_from_slice(b"</data></array></value>\n");
        }
        Value::Object(members) => {
            out.extend_from_slice(b"<value><struct>\n");
            for (name, item) in members {
                out.extend_from_slice(b"<member>\n<name>");
                write_escaped(out, name);
                out.extend_from_slice(b"</name>\n");
                write_value(out, item);
                out.extend_from_slice(b"</member>\n");
            }
            out.extend_from_slice(b"</struct></value>\n");
        }
    }
}

fn write_int(out: &mut Vec<u8>, int: i64) {
    let wide = i32::try_from(int).is_err();
    out.extend_from_slice(if wide {
        b"<value><i8>"
    } else {
        b"<value><int>"
    });
    write_decimal(out, int);
    out.extend_from_slice(if wide {
        b"</i8></value>\n"
    } else {
        b"</int></value>\n"
    });
}

/// An integer in decimal, without a temporary `String`.
fn write_decimal(out: &mut Vec<u8>, int: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = int.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if int < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
}

fn write_string(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b"<value><string>");
    write_escaped(out, text);
    out.extend_from_slice(b"</string></value>\n");
}

/// Escapes `&`, `<` and `>` as Python's `xmlrpc.client.escape` does, plus `\r` (see
/// [`encode_call`]).
fn write_escaped(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (index, byte) in bytes.iter().enumerate() {
        let replacement: &[u8] = match byte {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\r' => b"&#13;",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..index).unwrap_or_default());
        out.extend_from_slice(replacement);
        start = index + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
}

/// Writes a finite float as Python's `repr` does: shortest round-trip digits, positional
/// notation for decimal exponents -4 to 15 (`0.0`, `1.2834`, `1e+16`, `1e-05`).
fn write_python_float(out: &mut Vec<u8>, float: f64) {
    // Rust's `{:e}` gives the same shortest round-trip digits, as `d.ddde-x`.
    let scientific = format!("{float:e}");
    let (negative, unsigned) = match scientific.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, scientific.as_str()),
    };
    let (mantissa, exponent) = unsigned.split_once('e').unwrap_or((unsigned, "0"));
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let point = exponent + 1; // digits are 0.d1d2... times 10^point
    if negative {
        out.push(b'-');
    }
    if point > -4 && point <= 16 {
        if point <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', point.unsigned_abs() as usize));
            out.extend_from_slice(&digits);
        } else {
            let point = point as usize;
            if point >= digits.len() {
                out.extend_from_slice(&digits);
                out.extend(std::iter::repeat_n(b'0', point - digits.len()));
                out.extend_from_slice(b".0");
            } else {
                let (whole, fraction) = digits.split_at(point);
                out.extend_from_slice(whole);
                out.push(b'.');
                out.extend_from_slice(fraction);
            }
        }
    } else {
        let (first, rest) = digits.split_at(digits.len().min(1));
        out.extend_from_slice(first);
        if !rest.is_empty() {
            out.push(b'.');
            out.extend_from_slice(rest);
        }
        let shown = point - 1;
        out.extend_from_slice(if shown < 0 { b"e-" } else { b"e+" });
        let magnitude = shown.unsigned_abs();
        if magnitude < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(magnitude.to_string().as_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// Decoding

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What a document decoded to.
enum Decoded<I> {
    Response(Result<I, Fault>),
    Call(String, Vec<I>),
}

/// Checks the encoding, then decodes the document whose root is `root` into `sink`.
fn decode<S: Sink>(
    input: &[u8],
    root: Root,
    sink: S,
) -> Result<(Decoded<S::Item>, S), DecodeError> {
    match declared_encoding(input)? {
        Encoding::Utf8 => {
            let text = std::str::from_utf8(input).map_err(|error| DecodeError {
                offset: error.valid_up_to(),
                message: "invalid UTF-8".to_owned(),
            })?;
            Parser::new(text, sink).document(root)
        }
        Encoding::Latin1 => {
            // Every Latin-1 byte is the code point of the same number.
            let text: String = input.iter().map(|&byte| char::from(byte)).collect();
            Parser::new(&text, sink)
                .document(root)
                .map_err(|mut error| {
                    // Back to an offset in the input: count the characters before it.
                    let before = text
                        .as_bytes()
                        .get(..error.offset)
                        .unwrap_or(text.as_bytes());
                    error.offset = before.iter().filter(|&&b| b & 0xC0 != 0x80).count();
                    error
                })
        }
    }
}

enum Encoding {
    Utf8,
    Latin1,
}

/// The encoding named by the XML declaration, if any (UTF-8 without one). A declaration that
/// quick-xml cannot read is left for the parse to report.
fn declared_encoding(input: &[u8]) -> Result<Encoding, DecodeError> {
    let start = if input.starts_with(BOM) { BOM.len() } else { 0 };
    let mut reader = Reader::from_reader(input.get(start..).unwrap_or_default());
    let Ok(Event::Decl(declaration)) = reader.read_event() else {
        return Ok(Encoding::Utf8);
    };
    let name = match declaration.encoding() {
        None => return Ok(Encoding::Utf8),
        Some(Ok(name)) => name,
        Some(Err(_)) => {
            return Err(DecodeError {
                offset: start,
                message: "malformed XML declaration".to_owned(),
            })
        }
    };
    match name.to_ascii_lowercase().as_slice() {
        b"utf-8" | b"utf8" | b"us-ascii" | b"ascii" => Ok(Encoding::Utf8),
        b"iso-8859-1" | b"latin-1" | b"latin1" | b"iso8859-1" => Ok(Encoding::Latin1),
        _ => Err(DecodeError {
            offset: start,
            message: format!("unsupported encoding {:?}", show(&name)),
        }),
    }
}

/// The value types, by the local name of their element.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Type {
    String,
    Int,
    Boolean,
    Double,
    Nil,
    DateTime,
    Base64,
    Array,
    Struct,
}

fn type_of(local: &[u8]) -> Option<Type> {
    Some(match local {
        b"string" => Type::String,
        b"int" | b"i4" | b"i8" | b"i1" | b"i2" | b"biginteger" => Type::Int,
        b"boolean" => Type::Boolean,
        b"double" | b"float" | b"bigdecimal" => Type::Double,
        b"nil" => Type::Nil,
        b"dateTime.iso8601" => Type::DateTime,
        b"base64" => Type::Base64,
        b"array" => Type::Array,
        b"struct" => Type::Struct,
        _ => return None,
    })
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_space_char(ch: char) -> bool {
    matches!(ch, ' ' | '\t' | '\r' | '\n')
}

fn show(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// Byte equality of two short names, without a call to `memcmp`.
#[inline]
fn same(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).all(|(a, b)| a == b)
}

/// The name without its namespace prefix: what XML-RPC dispatches on (as Python does).
fn local_of(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b':') {
        Some(colon) => name.get(colon + 1..).unwrap_or_default(),
        None => name,
    }
}

/// Whether a tag's name is `local`, with or without a namespace prefix.
#[inline]
fn named(name: &[u8], local: &[u8]) -> bool {
    same(name, local) || same(local_of(name), local)
}

/// Appends `text` with its line ends read as XML reads them: `\r\n` and a lone `\r` as `\n`.
fn push_normalized(out: &mut String, text: &str) {
    let mut lines = text.split('\r');
    out.push_str(lines.next().unwrap_or_default());
    for line in lines {
        out.push('\n');
        out.push_str(line.strip_prefix('\n').unwrap_or(line));
    }
}

/// The document element being decoded.
#[derive(Clone, Copy)]
enum Root {
    Response,
    Call,
}

/// An open element of the document and what may come next in it. Containers and params
/// remember where their items or members start on the scratch stacks.
#[derive(Clone, Copy)]
enum Frame {
    /// `<methodResponse>`: `<params>` or `<fault>`, then its end (`done`).
    Response {
        done: bool,
    },
    /// `<methodCall>`: `<methodName>`, then `<params>` or its end, then its end.
    Call {
        stage: CallStage,
    },
    MethodName,
    /// `<params>` starting at `offset`; its values go on `items` from `mark`.
    Params {
        mark: usize,
        offset: usize,
    },
    /// `<param>`: one `<value>` (`done` once read), then its end.
    Param {
        done: bool,
    },
    /// `<fault>`: one `<value>` (starting at `offset`), then its end.
    Fault {
        done: bool,
        offset: usize,
    },
    /// `<value>`: character data (an untyped string), or one typed element (`typed` once
    /// read) then its end.
    Value {
        typed: bool,
    },
    /// `<int>`, `<string>`, ...: character data.
    Scalar(Type),
    /// `<array>`, items from `mark`; `data` once a `<data>` was seen.
    Array {
        mark: usize,
        data: bool,
    },
    Data,
    /// `<struct>`, members from `mark`.
    Struct {
        mark: usize,
    },
    /// `<member>`: `<name>`, then `<value>`, then its end.
    Member {
        stage: MemberStage,
    },
    Name,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CallStage {
    Name,
    Params,
    End,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MemberStage {
    Name,
    Value,
    End,
}

impl Frame {
    /// Whether character data here is content (else only whitespace may appear).
    fn takes_text(self) -> bool {
        matches!(
            self,
            Frame::Value { typed: false } | Frame::Scalar(_) | Frame::Name | Frame::MethodName
        )
    }

    /// Whether a `<value>` may start here.
    fn takes_value(self) -> bool {
        matches!(
            self,
            Frame::Array { .. }
                | Frame::Data
                | Frame::Member {
                    stage: MemberStage::Value
                }
                | Frame::Param { done: false }
                | Frame::Fault { done: false, .. }
        )
    }

    /// What this element expects, for error messages.
    fn expected(self) -> &'static str {
        match self {
            Frame::Response { done: false } => "expected <params> or <fault>",
            Frame::Call {
                stage: CallStage::Name,
            } => "expected <methodName> in <methodCall>",
            Frame::Call {
                stage: CallStage::Params,
            } => "expected <params> in <methodCall>",
            Frame::Params { .. } => "expected <param> in <params>",
            Frame::Param { done: false } => "expected <value> in <param>",
            Frame::Fault { done: false, .. } => "expected <value> in <fault>",
            Frame::Array { .. } | Frame::Data => "expected <value> in <array>",
            Frame::Struct { .. } => "expected <member> in <struct>",
            Frame::Member {
                stage: MemberStage::Name,
            } => "expected <name> in <member>",
            Frame::Member {
                stage: MemberStage::Value,
            } => "expected <value> in <member>",
            Frame::Value { typed: false } => "expected a typed value",
            Frame::Scalar(_) | Frame::Name | Frame::MethodName => "unexpected element",
            _ => "expected an end tag",
        }
    }
}

/// Character data being collected: borrowed from the document while it is one plain piece.
enum Text<'a> {
    Empty,
    Borrowed(&'a str),
    Owned(String),
}

/// Decodes a document in one pass (plain markup read here, the rest by quick-xml), keeping the
/// open elements on a stack of small `Frame`s (no recursion, no allocation per value), and
/// hands the values to `sink`.
struct Parser<'a, S: Sink> {
    /// The document, known to be UTF-8. Events borrow from it, so their position is where
    /// their bytes lie in it.
    text: &'a str,
    reader: Reader<&'a [u8]>,
    /// Where the reader's input starts in `text` (after a byte order mark).
    base: usize,
    stack: Vec<Frame>,
    /// The names of the open elements as their start tags wrote them, innermost last: each end
    /// tag is checked against the last one here (quick-xml's own check is off; it copies every
    /// name into a buffer of its own and compares with `memcmp`).
    names: Vec<&'a [u8]>,
    /// Open arrays and structs.
    depth: usize,
    /// Character data of the innermost element, and where it starts.
    content: Text<'a>,
    content_offset: usize,
    /// What the values become.
    sink: S,
    /// What the root element decoded to, once known.
    method: String,
    params: Vec<S::Item>,
    response: Option<Result<S::Item, Fault>>,
}

impl<'a, S: Sink> Parser<'a, S> {
    fn new(text: &'a str, sink: S) -> Self {
        let input = text.as_bytes();
        // quick-xml would skip a byte order mark without counting it in its positions.
        let base = if input.starts_with(BOM) { BOM.len() } else { 0 };
        // quick-xml's default configuration (text untrimmed: spaces in strings are content),
        // except that end tag names are checked here (`names`), not by quick-xml.
        let mut reader = Reader::from_reader(input.get(base..).unwrap_or_default());
        reader.config_mut().check_end_names = false;
        Parser {
            text,
            reader,
            base,
            // Deep enough for a `search_read` answer (rows of structs of many2one arrays:
            // 14 open elements), so neither grows while a REST answer is read.
            stack: Vec::with_capacity(16),
            names: Vec::with_capacity(16),
            depth: 0,
            content: Text::Empty,
            content_offset: 0,
            sink,
            method: String::new(),
            params: Vec::new(),
            response: None,
        }
    }

    fn error<T>(&self, offset: usize, message: impl Into<String>) -> Result<T, DecodeError> {
        Err(DecodeError {
            offset,
            message: message.into(),
        })
    }

    /// Where `part`, which an event borrowed from the document, starts in it.
    #[inline]
    fn offset_of(&self, part: &[u8]) -> usize {
        part.as_ptr()
            .addr()
            .saturating_sub(self.text.as_ptr().addr())
            .min(self.text.len())
    }

    /// `part`, which an event borrowed from the document, as the document's own bytes.
    #[inline(always)]
    fn in_text(&self, part: &[u8]) -> &'a [u8] {
        let start = self.offset_of(part);
        let text: &'a str = self.text;
        text.as_bytes()
            .get(start..start.saturating_add(part.len()))
            .unwrap_or_default()
    }

    /// Where an event starts in the document.
    fn event_offset(&self, event: &Event<'_>) -> usize {
        // Each event's bytes start after its opening delimiter (`<`, `</`, `<![CDATA[`, ...).
        let (part, delimiter): (&[u8], usize) = match event {
            Event::Start(tag) | Event::Empty(tag) => (tag, 1),
            Event::End(tag) => (tag, 2),
            Event::Text(text) => (text, 0),
            Event::CData(text) => (text, 9),
            Event::Comment(text) => (text, 4),
            Event::Decl(declaration) => (declaration, 2),
            Event::PI(instruction) => (instruction, 2),
            Event::DocType(text) => (text, 10),
            Event::GeneralRef(reference) => (reference, 1),
            Event::Eof => return self.text.len(),
        };
        self.offset_of(part).saturating_sub(delimiter)
    }

    /// The bytes of a `Text` or `CData` event as a slice of the document (no copy, no second
    /// UTF-8 check), and where they start.
    #[inline]
    fn str_of(&self, part: &[u8]) -> Result<(&'a str, usize), DecodeError> {
        let start = self.offset_of(part);
        match self.text.get(start..start.saturating_add(part.len())) {
            Some(text) if text.as_ptr() == part.as_ptr() => Ok((text, start)),
            _ => self.error(start, "text outside the document"),
        }
    }

    fn xml_error(&self, error: &quick_xml::Error) -> DecodeError {
        use quick_xml::errors::IllFormedError;
        let position = usize::try_from(self.reader.error_position()).unwrap_or(usize::MAX);
        // quick-xml's own messages are used only where they quote nothing from the input.
        let message = match error {
            quick_xml::Error::Syntax(syntax) => syntax.to_string(),
            quick_xml::Error::IllFormed(IllFormedError::MismatchedEndTag { .. }) => {
                "end tag does not match the start tag".to_owned()
            }
            quick_xml::Error::IllFormed(IllFormedError::UnmatchedEndTag(_)) => {
                "end tag without a start tag".to_owned()
            }
            quick_xml::Error::IllFormed(IllFormedError::UnclosedReference) => {
                "bad entity reference".to_owned()
            }
            quick_xml::Error::IllFormed(IllFormedError::MissingDoctypeName) => {
                "DOCTYPE without a name".to_owned()
            }
            _ => "malformed XML".to_owned(),
        };
        DecodeError {
            offset: position.saturating_add(self.base).min(self.text.len()),
            message,
        }
    }

    /// The next event that is not a comment or processing instruction.
    fn event(&mut self) -> Result<Event<'a>, DecodeError> {
        loop {
            match self.reader.read_event() {
                Ok(Event::Comment(_) | Event::PI(_)) => {}
                Ok(event) => return Ok(event),
                Err(error) => return Err(self.xml_error(&error)),
            }
        }
    }

    /// Parses the prolog, the root element, then allows only comments, processing
    /// instructions and whitespace up to the end.
    fn document(mut self, root: Root) -> Result<(Decoded<S::Item>, S), DecodeError> {
        // An XML declaration only as the very first thing (its encoding was checked).
        let mut event = match self.reader.read_event() {
            Ok(Event::Decl(_)) => self.event()?,
            Ok(Event::Comment(_) | Event::PI(_)) => self.event()?,
            Ok(event) => event,
            Err(error) => return Err(self.xml_error(&error)),
        };
        loop {
            match &event {
                Event::Text(text) if text.iter().all(|&b| is_space(b)) => {}
                Event::DocType(doctype) if doctype.contains(&b'[') => {
                    return self.error(
                        self.event_offset(&event),
                        "DOCTYPE with an internal subset is not supported",
                    );
                }
                Event::DocType(_) => {}
                _ => break,
            }
            event = self.event()?;
        }
        let (name, frame): (&[u8], Frame) = match root {
            Root::Response => (b"methodResponse", Frame::Response { done: false }),
            Root::Call => (
                b"methodCall",
                Frame::Call {
                    stage: CallStage::Name,
                },
            ),
        };
        match &event {
            Event::Start(tag) if named(tag.name().into_inner(), name) => {
                let name = self.in_text(tag.name().into_inner());
                self.names.push(name);
            }
            Event::Eof => return self.error(self.text.len(), "no element found"),
            Event::Start(tag) | Event::Empty(tag) => {
                let found = show(tag.name().into_inner());
                return self.error(
                    self.event_offset(&event),
                    format!("expected <{}>, found <{found}>", show(name)),
                );
            }
            _ => {
                return self.error(
                    self.event_offset(&event),
                    format!("expected <{}>", show(name)),
                )
            }
        }
        self.stack.push(frame);
        let after_root = self.base + usize::try_from(self.reader.buffer_position()).unwrap_or(0);
        self.elements(after_root)?;
        loop {
            let event = self.event()?;
            match &event {
                Event::Eof => break,
                Event::Text(text) if text.iter().all(|&b| is_space(b)) => {}
                _ => return self.error(self.event_offset(&event), "junk after the root element"),
            }
        }
        match root {
            Root::Response => match self.response.take() {
                Some(response) => Ok((Decoded::Response(response), self.sink)),
                None => self.error(0, "no response"),
            },
            Root::Call => Ok((Decoded::Call(self.method, self.params), self.sink)),
        }
    }

    /// Reads the document from `at` (in the root element) up to and including the end of the
    /// root element, and leaves `reader` just after it.
    ///
    /// The markup and text Odoo writes (tags without attributes or spaces, text without
    /// references) are read here, straight from the bytes; at anything else (a reference,
    /// CDATA, a comment, attributes, a malformed tag...) quick-xml takes over from that byte
    /// for one piece of markup, then the bytes are read here again from where it stopped.
    fn elements(&mut self, mut at: usize) -> Result<(), DecodeError> {
        loop {
            at = self.plain_markup(at)?;
            let mut reader =
                Reader::from_reader(self.text.as_bytes().get(at..).unwrap_or_default());
            let config = reader.config_mut();
            config.check_end_names = false;
            config.allow_unmatched_ends = true;
            self.reader = reader;
            self.base = at;
            if self.stack.is_empty() {
                return Ok(());
            }
            self.markup()?;
            at = self.base + usize::try_from(self.reader.buffer_position()).unwrap_or(0);
        }
    }

    /// Reads start tags, end tags and empty elements without attributes or spaces, and text
    /// without references, from `at`; returns where it stopped: after the end of the root
    /// element, or at the first `<` or `&` it does not read (or the end of the input).
    #[inline]
    fn plain_markup(&mut self, mut at: usize) -> Result<usize, DecodeError> {
        let bytes: &'a [u8] = self.text.as_bytes();
        while !self.stack.is_empty() {
            match bytes.get(at) {
                Some(b'<') => {
                    let closing = bytes.get(at + 1) == Some(&b'/');
                    let name_start = at + 1 + usize::from(closing);
                    let name_end = plain_name_end(bytes, name_start);
                    let Some(name) = bytes.get(name_start..name_end).filter(|n| !n.is_empty())
                    else {
                        return Ok(at);
                    };
                    match bytes.get(name_end) {
                        Some(b'>') if closing => {
                            match self.names.pop() {
                                Some(open) if same(open, name) => {}
                                _ => return self.error(at, "end tag does not match the start tag"),
                            }
                            self.end(at)?;
                        }
                        Some(b'>') => {
                            self.start(name, false, at)?;
                            self.names.push(name);
                        }
                        Some(b'/') if !closing && bytes.get(name_end + 1) == Some(&b'>') => {
                            self.start(name, true, at)?;
                            at = name_end + 2;
                            continue;
                        }
                        _ => return Ok(at),
                    }
                    at = name_end + 1;
                }
                Some(b'&') | None => return Ok(at),
                Some(_) => {
                    let end = text_end(bytes, at);
                    self.character_data(bytes.get(at..end).unwrap_or_default())?;
                    at = end;
                }
            }
        }
        Ok(at)
    }

    /// Reads one piece of markup or reference with quick-xml (and the text before it).
    fn markup(&mut self) -> Result<(), DecodeError> {
        loop {
            // The event is used where quick-xml wrote it: moving it out costs more than the
            // rest of its handling.
            let result = self.reader.read_event();
            let event = match &result {
                Ok(event) => event,
                Err(error) => return Err(self.xml_error(error)),
            };
            match event {
                Event::Start(tag) => {
                    let offset = self.offset_of(tag).saturating_sub(1);
                    let name = self.in_text(tag.name().into_inner());
                    self.start(name, false, offset)?;
                    self.names.push(name);
                }
                Event::Empty(tag) => {
                    let offset = self.offset_of(tag).saturating_sub(1);
                    self.start(tag.name().into_inner(), true, offset)?;
                }
                Event::End(tag) => {
                    let offset = self.offset_of(tag).saturating_sub(2);
                    match self.names.pop() {
                        Some(open) if same(open, tag.name().into_inner()) => {}
                        _ => return self.error(offset, "end tag does not match the start tag"),
                    }
                    self.end(offset)?;
                }
                Event::Text(raw) => {
                    self.character_data(raw)?;
                    continue;
                }
                Event::CData(raw) => {
                    let (text, offset) = self.str_of(raw)?;
                    self.append(text, offset)?;
                }
                Event::GeneralRef(reference) => {
                    let offset = self.offset_of(reference).saturating_sub(1);
                    let resolved = self.reference(reference, offset)?;
                    self.append_char(resolved, offset)?;
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Decl(_) | Event::DocType(_) => {
                    let offset = self.event_offset(event);
                    return self.error(offset, "unexpected markup declaration");
                }
                Event::Eof => return self.error(self.text.len(), "unexpected end of input"),
            }
            return Ok(());
        }
    }

    #[inline(always)]
    fn top(&self) -> Frame {
        self.stack
            .last()
            .copied()
            .unwrap_or(Frame::Response { done: true })
    }

    #[inline(always)]
    fn set_top(&mut self, frame: Frame) {
        if let Some(top) = self.stack.last_mut() {
            *top = frame;
        }
    }

    /// A `Text` event: content, or whitespace between elements.
    #[inline]
    fn character_data(&mut self, raw: &[u8]) -> Result<(), DecodeError> {
        if self.top().takes_text() {
            let (text, offset) = self.str_of(raw)?;
            self.append(text, offset)
        } else if raw.iter().all(|&b| is_space(b)) {
            Ok(())
        } else {
            self.error(self.offset_of(raw), "text between elements")
        }
    }

    /// Adds text or CDATA to the content of the innermost element (line ends are normalized
    /// when it is copied or taken).
    #[inline]
    fn append(&mut self, text: &'a str, offset: usize) -> Result<(), DecodeError> {
        if !self.top().takes_text() {
            return self.error(offset, "text between elements");
        }
        if let Text::Empty = self.content {
            self.content = Text::Borrowed(text);
            self.content_offset = offset;
            return Ok(());
        }
        let mut owned = self.owned_content(offset);
        push_normalized(&mut owned, text);
        self.content = Text::Owned(owned);
        Ok(())
    }

    /// Adds a resolved reference to the content of the innermost element.
    fn append_char(&mut self, resolved: char, offset: usize) -> Result<(), DecodeError> {
        if !self.top().takes_text() {
            return self.error(offset, "text between elements");
        }
        let mut owned = self.owned_content(offset);
        owned.push(resolved);
        self.content = Text::Owned(owned);
        Ok(())
    }

    /// Takes the content so far as an owned string, to add to it.
    fn owned_content(&mut self, offset: usize) -> String {
        match std::mem::replace(&mut self.content, Text::Empty) {
            Text::Empty => {
                self.content_offset = offset;
                String::new()
            }
            Text::Borrowed(before) => {
                let mut owned = String::with_capacity(before.len() + 16);
                push_normalized(&mut owned, before);
                owned
            }
            Text::Owned(owned) => owned,
        }
    }

    /// Takes the content of the innermost element, and where it starts (`end` if empty).
    #[inline(always)]
    fn take_content(&mut self, end: usize) -> (Cow<'a, str>, usize) {
        match std::mem::replace(&mut self.content, Text::Empty) {
            Text::Empty => (Cow::Borrowed(""), end),
            Text::Borrowed(text) if text.as_bytes().contains(&b'\r') => {
                let mut owned = String::with_capacity(text.len());
                push_normalized(&mut owned, text);
                (Cow::Owned(owned), self.content_offset)
            }
            Text::Borrowed(text) => (Cow::Borrowed(text), self.content_offset),
            Text::Owned(text) => (Cow::Owned(text), self.content_offset),
        }
    }

    /// Resolves an entity or character reference (`&name;`, at `offset`).
    fn reference(&self, reference: &BytesRef<'_>, offset: usize) -> Result<char, DecodeError> {
        Ok(match &**reference {
            b"lt" => '<',
            b"gt" => '>',
            b"amp" => '&',
            b"quot" => '"',
            b"apos" => '\'',
            _ => match reference.resolve_char_ref() {
                Ok(Some(resolved)) => resolved,
                Ok(None) => return self.error(offset, "undefined entity"),
                Err(_) => return self.error(offset, "bad character reference"),
            },
        })
    }

    fn enter(&mut self, offset: usize) -> Result<(), DecodeError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error(offset, format!("nesting deeper than {MAX_DEPTH}"));
        }
        Ok(())
    }

    /// A start tag (or an empty element) named `name`, at `offset`.
    #[inline]
    fn start(&mut self, name: &[u8], empty: bool, offset: usize) -> Result<(), DecodeError> {
        let top = self.top();
        match top {
            Frame::Value { typed: false } => return self.typed_start(name, empty, offset),
            _ if top.takes_value() && named(name, b"value") => {
                if let Frame::Fault { done, .. } = top {
                    // Errors about the fault point at its value.
                    self.set_top(Frame::Fault { done, offset });
                }
                if empty {
                    let item = self.sink.scalar(Type::String, Cow::Borrowed(""), offset)?;
                    return self.deliver(item);
                }
                self.stack.push(Frame::Value { typed: false });
            }
            Frame::Array { mark, data: false } if named(name, b"data") => {
                self.set_top(Frame::Array { mark, data: true });
                if !empty {
                    self.stack.push(Frame::Data);
                }
            }
            Frame::Struct { .. } if named(name, b"member") => {
                if empty {
                    return self.error(offset, "empty <member>");
                }
                self.stack.push(Frame::Member {
                    stage: MemberStage::Name,
                });
            }
            Frame::Member {
                stage: MemberStage::Name,
            } if named(name, b"name") => {
                if empty {
                    self.sink.name(Cow::Borrowed(""));
                    self.set_top(Frame::Member {
                        stage: MemberStage::Value,
                    });
                } else {
                    self.stack.push(Frame::Name);
                }
            }
            Frame::Params { .. } if named(name, b"param") => {
                if empty {
                    return self.error(offset, "empty <param>");
                }
                self.stack.push(Frame::Param { done: false });
            }
            Frame::Response { done: false } if named(name, b"params") => {
                if empty {
                    return self.error(offset, "expected one param, found 0");
                }
                let mark = self.sink.mark(Type::Array);
                self.stack.push(Frame::Params { mark, offset });
            }
            Frame::Response { done: false } if named(name, b"fault") && !empty => {
                self.stack.push(Frame::Fault {
                    done: false,
                    offset,
                });
            }
            Frame::Call {
                stage: CallStage::Name,
            } if named(name, b"methodName") => {
                self.set_top(Frame::Call {
                    stage: CallStage::Params,
                });
                if !empty {
                    self.stack.push(Frame::MethodName);
                }
            }
            Frame::Call {
                stage: CallStage::Params,
            } if named(name, b"params") => {
                self.set_top(Frame::Call {
                    stage: CallStage::End,
                });
                if !empty {
                    let mark = self.sink.mark(Type::Array);
                    self.stack.push(Frame::Params { mark, offset });
                }
            }
            _ => return self.error(offset, top.expected()),
        }
        Ok(())
    }

    /// The typed element in a `<value>`: what came before it must be whitespace.
    fn typed_start(&mut self, name: &[u8], empty: bool, offset: usize) -> Result<(), DecodeError> {
        let (before, before_offset) = self.take_content(offset);
        if !before.bytes().all(is_space) {
            return self.error(before_offset, "text before a typed value");
        }
        let Some(kind) = type_of(name).or_else(|| type_of(local_of(name))) else {
            return self.error(offset, format!("unknown type <{}>", show(name)));
        };
        self.set_top(Frame::Value { typed: true });
        if empty {
            let item = match kind {
                Type::Array | Type::Struct => {
                    let mark = self.sink.mark(kind);
                    self.sink.open(kind);
                    self.sink.close(kind, mark)
                }
                _ => self.sink.scalar(kind, Cow::Borrowed(""), offset)?,
            };
            return self.deliver_typed(item);
        }
        match kind {
            Type::Array => {
                self.enter(offset)?;
                let mark = self.sink.mark(kind);
                self.sink.open(kind);
                self.stack.push(Frame::Array { mark, data: false });
            }
            Type::Struct => {
                self.enter(offset)?;
                let mark = self.sink.mark(kind);
                self.sink.open(kind);
                self.stack.push(Frame::Struct { mark });
            }
            _ => self.stack.push(Frame::Scalar(kind)),
        }
        Ok(())
    }

    /// Hands a finished `<value>` to the element that holds it.
    #[inline(always)]
    fn deliver(&mut self, item: S::Item) -> Result<(), DecodeError> {
        match self.top() {
            Frame::Array { .. } | Frame::Data => self.sink.push(item),
            Frame::Member { .. } => {
                self.sink.member(item);
                self.set_top(Frame::Member {
                    stage: MemberStage::End,
                });
            }
            Frame::Param { .. } => {
                self.sink.push(item);
                self.set_top(Frame::Param { done: true });
            }
            Frame::Fault { offset, .. } => {
                self.sink.push(item);
                self.set_top(Frame::Fault { done: true, offset });
            }
            _ => return self.error(0, "value outside a value holder"),
        }
        Ok(())
    }

    /// Hands the typed value of the innermost `<value>` to the element that holds it; the
    /// `<value>` stays open for its end tag.
    #[inline(always)]
    fn deliver_typed(&mut self, item: S::Item) -> Result<(), DecodeError> {
        self.stack.pop();
        self.deliver(item)?;
        self.stack.push(Frame::Value { typed: true });
        Ok(())
    }

    /// An end tag at `offset` (its name was checked against the innermost open element).
    #[inline]
    fn end(&mut self, offset: usize) -> Result<(), DecodeError> {
        let Some(frame) = self.stack.pop() else {
            return self.error(offset, "end tag without a start tag");
        };
        match frame {
            Frame::Scalar(kind) => {
                let (text, text_offset) = self.take_content(offset);
                let item = self.sink.scalar(kind, text, text_offset)?;
                self.deliver_typed(item)?;
            }
            // Its typed value was handed over when it closed.
            Frame::Value { typed: true } => {}
            Frame::Value { typed: false } => {
                let (text, text_offset) = self.take_content(offset);
                let item = self.sink.scalar(Type::String, text, text_offset)?;
                self.deliver(item)?;
            }
            Frame::Array { mark, .. } => {
                self.depth -= 1;
                let item = self.sink.close(Type::Array, mark);
                self.deliver_typed(item)?;
            }
            Frame::Data => {}
            Frame::Struct { mark } => {
                self.depth -= 1;
                let item = self.sink.close(Type::Struct, mark);
                self.deliver_typed(item)?;
            }
            Frame::Name => {
                let (name, _) = self.take_content(offset);
                self.sink.name(name);
                self.set_top(Frame::Member {
                    stage: MemberStage::Value,
                });
            }
            Frame::Member {
                stage: MemberStage::End,
            }
            | Frame::Param { done: true }
            | Frame::Call {
                stage: CallStage::Params | CallStage::End,
            } => {}
            Frame::Fault { done: true, offset } => {
                let value = self.sink.pop().and_then(|item| self.sink.fault_value(item));
                self.response = Some(Err(self.fault(value.unwrap_or_default(), offset)?));
                self.set_top(Frame::Response { done: true });
            }
            Frame::Params { mark, offset } => {
                if let Frame::Call { .. } = self.top() {
                    self.params = self.sink.drain(mark);
                } else {
                    let count = self.sink.count(mark);
                    if count != 1 {
                        return self.error(offset, format!("expected one param, found {count}"));
                    }
                    self.response = self.sink.pop().map(Ok);
                    self.set_top(Frame::Response { done: true });
                }
            }
            Frame::MethodName => {
                self.method = self.take_content(offset).0.into_owned();
            }
            Frame::Response { done: true } => {}
            _ => return self.error(offset, frame.expected()),
        }
        Ok(())
    }

    fn fault(&self, value: Value, offset: usize) -> Result<Fault, DecodeError> {
        let Value::Object(mut members) = value else {
            return self.error(offset, "fault is not a struct");
        };
        let code = match members.remove("faultCode") {
            Some(Value::Number(number)) => match number.as_i64() {
                Some(code) => FaultCode::Int(code),
                None => return self.error(offset, "faultCode out of range"),
            },
            Some(Value::String(text)) => FaultCode::Text(text),
            Some(_) => return self.error(offset, "faultCode is neither an int nor a string"),
            None => return self.error(offset, "fault without faultCode"),
        };
        let string = match members.remove("faultString") {
            Some(Value::String(text)) => text,
            Some(_) => return self.error(offset, "faultString is not a string"),
            None => return self.error(offset, "fault without faultString"),
        };
        Ok(Fault { code, string })
    }
}

/// The value of a scalar element of type `kind` whose text starts at `offset`.
#[inline(always)]
fn scalar_value(kind: Type, text: Cow<'_, str>, offset: usize) -> Result<Value, DecodeError> {
    let at = |message| DecodeError { offset, message };
    match kind {
        Type::Int => parse_int(&text).map_err(at),
        Type::Boolean => match text.as_ref() {
            "0" => Ok(Value::Bool(false)),
            "1" => Ok(Value::Bool(true)),
            _ => Err(at("bad boolean value".to_owned())),
        },
        Type::Double => parse_double(&text).map_err(at),
        Type::Nil => Ok(Value::Null),
        Type::DateTime => Ok(Value::String(date_time(&text).to_owned())),
        Type::String | Type::Base64 | Type::Array | Type::Struct => {
            Ok(Value::String(text.into_owned()))
        }
    }
}

/// The text of a `dateTime.iso8601`: without the whitespace around it.
fn date_time(text: &str) -> &str {
    text.trim_matches(is_space_char)
}

// ---------------------------------------------------------------------------------------------
// What the values become

/// What the parser makes of the values it reads: `Value`s ([`decode_response`],
/// [`decode_call`]) or JSON text ([`transcode_response`]). The parser checks the document's
/// structure and calls these in document order; a sink only builds.
trait Sink {
    /// A finished value.
    type Item;
    /// Where the items of an array, struct or `<params>` of `kind` that opens now will start.
    fn mark(&self, kind: Type) -> usize;
    /// A scalar of type `kind` (not an array or struct) from its text, which starts at `offset`.
    fn scalar(
        &mut self,
        kind: Type,
        text: Cow<'_, str>,
        offset: usize,
    ) -> Result<Self::Item, DecodeError>;
    /// An array or struct opens.
    fn open(&mut self, kind: Type);
    /// The array or struct opened at `mark` closes.
    fn close(&mut self, kind: Type, mark: usize) -> Self::Item;
    /// The name of a struct member; its value comes next.
    fn name(&mut self, name: Cow<'_, str>);
    /// A value for the innermost array, `<params>` or `<fault>`.
    fn push(&mut self, item: Self::Item);
    /// The value of the member named last.
    fn member(&mut self, item: Self::Item);
    /// How many values were pushed to the `<params>` opened at `mark`.
    fn count(&self, mark: usize) -> usize;
    /// The values pushed to the `<params>` opened at `mark` (a call's params).
    fn drain(&mut self, mark: usize) -> Vec<Self::Item>;
    /// The last value pushed at the top (the param of a response, or its fault).
    fn pop(&mut self) -> Option<Self::Item>;
    /// A fault's value as a `Value`, to read its code and string.
    fn fault_value(&mut self, item: Self::Item) -> Option<Value>;
}

/// Builds `serde_json::Value`s. Array items and struct members wait on two scratch stacks
/// shared by the whole parse and are moved into exactly-sized containers when they close.
#[derive(Default)]
struct ValueSink {
    /// Items of the open arrays and params, innermost last.
    items: Vec<Value>,
    /// Members of the open structs, innermost last.
    members: Vec<(String, Value)>,
}

impl Sink for ValueSink {
    type Item = Value;

    #[inline(always)]
    fn mark(&self, kind: Type) -> usize {
        match kind {
            Type::Struct => self.members.len(),
            _ => self.items.len(),
        }
    }

    #[inline(always)]
    fn scalar(
        &mut self,
        kind: Type,
        text: Cow<'_, str>,
        offset: usize,
    ) -> Result<Value, DecodeError> {
        scalar_value(kind, text, offset)
    }

    #[inline(always)]
    fn open(&mut self, _kind: Type) {}

    #[inline(always)]
    fn close(&mut self, kind: Type, mark: usize) -> Value {
        match kind {
            Type::Struct => Value::Object(self.members.drain(mark..).collect()),
            _ => Value::Array(self.items.drain(mark..).collect()),
        }
    }

    #[inline(always)]
    fn name(&mut self, name: Cow<'_, str>) {
        self.members.push((name.into_owned(), Value::Null));
    }

    #[inline(always)]
    fn push(&mut self, item: Value) {
        self.items.push(item);
    }

    #[inline(always)]
    fn member(&mut self, item: Value) {
        if let Some(member) = self.members.last_mut() {
            member.1 = item;
        }
    }

    fn count(&self, mark: usize) -> usize {
        self.items.len().saturating_sub(mark)
    }

    fn drain(&mut self, mark: usize) -> Vec<Value> {
        self.items.drain(mark.min(self.items.len())..).collect()
    }

    fn pop(&mut self) -> Option<Value> {
        self.items.pop()
    }

    fn fault_value(&mut self, item: Value) -> Option<Value> {
        Some(item)
    }
}

/// Writes JSON text into one buffer as the values are read, byte for byte what `serde_json`
/// writes for the `Value` that [`ValueSink`] would build. An item is where a value's text lies
/// in the buffer.
#[derive(Default)]
struct JsonSink {
    out: Vec<u8>,
    /// The open arrays and structs, innermost last.
    open: Vec<OpenContainer>,
    /// Values written at the top (outside any array or struct).
    top: usize,
    /// The last value finished at the top.
    last: Option<std::ops::Range<usize>>,
    /// The item count of the last array finished at the top; `None` after anything else.
    array_len: Option<usize>,
}

struct OpenContainer {
    /// Where its text starts in the buffer.
    start: usize,
    is_array: bool,
    /// Items (or members) written so far.
    len: usize,
}

impl JsonSink {
    /// Writes the comma a value needs before it in an array, and counts it; returns where the
    /// value starts.
    #[inline(always)]
    fn begin(&mut self) -> usize {
        match self.open.last_mut() {
            Some(container) if container.is_array => {
                if container.len > 0 {
                    self.out.push(b',');
                }
                container.len += 1;
            }
            Some(_) => {}
            None => self.top += 1,
        }
        self.out.len()
    }

    /// Notes a value finished at `start`; returns its item.
    #[inline(always)]
    fn finish(&mut self, start: usize) -> std::ops::Range<usize> {
        let range = start..self.out.len();
        if self.open.is_empty() {
            self.last = Some(range.clone());
        }
        range
    }
}

impl Sink for JsonSink {
    type Item = std::ops::Range<usize>;

    #[inline(always)]
    fn mark(&self, _kind: Type) -> usize {
        self.top
    }

    #[inline(always)]
    fn scalar(
        &mut self,
        kind: Type,
        text: Cow<'_, str>,
        offset: usize,
    ) -> Result<Self::Item, DecodeError> {
        if kind == Type::Int && is_canonical_int(&text) {
            // Its JSON text is its XML text (most ints in an answer: ids, counts).
            let start = self.begin();
            self.out.extend_from_slice(text.as_bytes());
            if self.open.is_empty() {
                self.array_len = None;
            }
            return Ok(self.finish(start));
        }
        // Checked before anything is written, as the `Value` path checks it.
        let number = match kind {
            Type::Int | Type::Double | Type::Boolean | Type::Nil => {
                Some(scalar_value(kind, text.clone(), offset)?)
            }
            _ => None,
        };
        let start = self.begin();
        match number {
            Some(value) => write_json_scalar(&mut self.out, &value),
            None if kind == Type::DateTime => write_json_string(&mut self.out, date_time(&text)),
            None => write_json_string(&mut self.out, &text),
        }
        if self.open.is_empty() {
            self.array_len = None;
        }
        Ok(self.finish(start))
    }

    #[inline(always)]
    fn open(&mut self, kind: Type) {
        let start = self.begin();
        let is_array = kind != Type::Struct;
        self.out.push(if is_array { b'[' } else { b'{' });
        self.open.push(OpenContainer {
            start,
            is_array,
            len: 0,
        });
    }

    #[inline(always)]
    fn close(&mut self, _kind: Type, _mark: usize) -> Self::Item {
        let Some(container) = self.open.pop() else {
            return self.out.len()..self.out.len();
        };
        self.out.push(if container.is_array { b']' } else { b'}' });
        if self.open.is_empty() {
            self.array_len = container.is_array.then_some(container.len);
        }
        self.finish(container.start)
    }

    #[inline(always)]
    fn name(&mut self, name: Cow<'_, str>) {
        if let Some(container) = self.open.last_mut() {
            if container.len > 0 {
                self.out.push(b',');
            }
            container.len += 1;
        }
        write_json_string(&mut self.out, &name);
        self.out.push(b':');
    }

    #[inline(always)]
    fn push(&mut self, _item: Self::Item) {}

    #[inline(always)]
    fn member(&mut self, _item: Self::Item) {}

    fn count(&self, mark: usize) -> usize {
        self.top.saturating_sub(mark)
    }

    fn drain(&mut self, _mark: usize) -> Vec<Self::Item> {
        // Only responses are transcoded.
        Vec::new()
    }

    fn pop(&mut self) -> Option<Self::Item> {
        self.last.take()
    }

    fn fault_value(&mut self, item: Self::Item) -> Option<Value> {
        serde_json::from_slice(self.out.get(item)?).ok()
    }
}

/// Whether `text` is an integer written as `serde_json` writes it: an optional `-` (not before
/// a lone zero), then up to 18 digits without a leading zero (so it fits an `i64`).
#[inline]
fn is_canonical_int(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text).as_bytes();
    match digits {
        [b'0'] => digits.len() == text.len(),
        [b'1'..=b'9', rest @ ..] => rest.len() < 18 && rest.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// A number, boolean or null, as `serde_json` writes it.
fn write_json_scalar(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => match number.as_i64() {
            Some(int) => write_decimal(out, int),
            None => {
                // A u64 beyond i64, or a float: serde_json's own digits.
                let _ = serde_json::to_writer(&mut *out, number);
            }
        },
        Value::String(text) => write_json_string(out, text),
        Value::Array(_) | Value::Object(_) => {
            let _ = serde_json::to_writer(&mut *out, value);
        }
    }
}

/// A JSON string as `serde_json` writes it: `"` and `\\` escaped, control characters as `\\n`,
/// `\\t`, ... or `\\u00XX`, everything else (DEL, non-ASCII) raw.
fn write_json_string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(text.len() + 2);
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut index = 0;
    while index < bytes.len() {
        // Runs of bytes that need no escape (all of most strings) are skipped eight at a time.
        index = plain_until(bytes, index);
        let Some(&byte) = bytes.get(index) else {
            break;
        };
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0C => b"\\f",
            _ => b"",
        };
        out.extend_from_slice(bytes.get(start..index).unwrap_or_default());
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0x0F)]);
        } else {
            out.extend_from_slice(escape);
        }
        index += 1;
        start = index;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// Where the plain tag name (ASCII letters, digits, `_`, `-`, `.`, `:`) from `from` ends.
#[inline(always)]
fn plain_name_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(&byte) = bytes.get(at) {
        if !(byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.' | b':')) {
            break;
        }
        at += 1;
    }
    at
}

/// The index of the first `<` or `&` from `from` on (`bytes.len()` if none): eight bytes at a
/// time as in [`plain_until`].
#[inline]
fn text_end(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut index = from;
    while let Some(chunk) = bytes.get(index..index + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_ne_bytes(word);
        let less = word ^ (ONES * u64::from(b'<'));
        let amp = word ^ (ONES * u64::from(b'&'));
        if ((less.wrapping_sub(ONES) & !less) | (amp.wrapping_sub(ONES) & !amp)) & HIGH != 0 {
            break;
        }
        index += 8;
    }
    while let Some(&byte) = bytes.get(index) {
        if byte == b'<' || byte == b'&' {
            return index;
        }
        index += 1;
    }
    index
}

/// Whether a JSON string needs `byte` escaped: `"`, `\\` and the control characters.
#[inline(always)]
fn needs_json_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// The index of the first byte from `from` on that needs a JSON escape (`bytes.len()` if
/// none): eight bytes at a time as one `u64` (a zero-byte test on `word ^ '"'`, `word ^ '\\'`
/// and a below-0x20 test; bytes of 0x80 and above have their top bit set and never match),
/// then byte by byte from the word that has one.
#[inline]
fn plain_until(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut index = from;
    while let Some(chunk) = bytes.get(index..index + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_ne_bytes(word);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        // `x - ONES & !x & HIGH` is non-zero when a byte of x is zero (below 0x20: x - 0x20).
        let found = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word);
        if found & HIGH != 0 {
            break;
        }
        index += 8;
    }
    while let Some(&byte) = bytes.get(index) {
        if needs_json_escape(byte) {
            return index;
        }
        index += 1;
    }
    index
}

/// Removes the underscores Python allows between digits (`1_000`); `None` if misplaced.
fn without_underscores(text: &str) -> Option<Cow<'_, str>> {
    if !text.contains('_') {
        return Some(Cow::Borrowed(text));
    }
    let bytes = text.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        if byte == b'_' {
            let before = index.checked_sub(1).and_then(|i| bytes.get(i));
            let after = bytes.get(index + 1);
            if !before.is_some_and(u8::is_ascii_digit) || !after.is_some_and(u8::is_ascii_digit) {
                return None;
            }
        }
    }
    Some(Cow::Owned(text.replace('_', "")))
}

/// Parses an XML-RPC integer as Python's `int()` does; beyond `i64` it gives a `u64` when it
/// fits, else an error.
fn parse_int(text: &str) -> Result<Value, String> {
    let bytes = text.as_bytes();
    // Fast path: optional minus and up to 18 digits cannot overflow.
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', digits)) => (true, digits),
        _ => (false, bytes),
    };
    if !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
        let magnitude = digits
            .iter()
            .fold(0i64, |sum, &digit| sum * 10 + i64::from(digit - b'0'));
        return Ok(Value::from(if negative { -magnitude } else { magnitude }));
    }
    let bad = || "bad integer".to_owned();
    let trimmed = text.trim_matches(is_space_char);
    let (negative, unsigned) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, trimmed.get(1..).unwrap_or_default()),
        Some(b'+') => (false, trimmed.get(1..).unwrap_or_default()),
        _ => (false, trimmed),
    };
    let digits = without_underscores(unsigned).ok_or_else(bad)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let out_of_range = || "integer out of range".to_owned();
    let magnitude: i128 = digits.parse().map_err(|_| out_of_range())?;
    let signed = if negative { -magnitude } else { magnitude };
    if let Ok(value) = i64::try_from(signed) {
        Ok(Value::from(value))
    } else {
        u64::try_from(signed)
            .map(Value::from)
            .map_err(|_| out_of_range())
    }
}

/// Parses an XML-RPC double as Python's `float()` does; infinities and NaN have no JSON form
/// and are an error.
fn parse_double(text: &str) -> Result<Value, String> {
    let trimmed = text.trim_matches(is_space_char);
    let bad = || "bad double".to_owned();
    let cleaned = without_underscores(trimmed).ok_or_else(bad)?;
    let float: f64 = cleaned.parse().map_err(|_| bad())?;
    Number::from_f64(float)
        .map(Value::Number)
        .ok_or_else(|| "non-finite double".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_secret_param_is_sent_as_a_string_and_never_shown() {
        let password = crate::secret::Secret::new("hunter2 & <x>");
        let mut secret = Vec::new();
        encode_call_params(&mut secret, "authenticate", &[Param::Secret(&password)]);
        let mut plain = Vec::new();
        encode_call_params(&mut plain, "authenticate", &[Param::Str("hunter2 & <x>")]);
        assert_eq!(secret, plain);
        let shown = format!("{:?}", [Param::Str("db"), Param::Secret(&password)]);
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn borrowed_params_encode_as_their_values() {
        let args = json!([[["id", "=", 1]]]);
        let kwargs = json!({"fields": ["name"], "limit": 80});
        for int in [0, 7, -7, i64::from(i32::MAX) + 1, i64::MIN, i64::MAX] {
            let mut borrowed = Vec::new();
            encode_call_params(
                &mut borrowed,
                "execute_kw",
                &[
                    Param::Str("db & <co>\r"),
                    Param::Int(int),
                    Param::Value(&args),
                    Param::Value(&kwargs),
                ],
            );
            let mut owned = Vec::new();
            encode_call(
                &mut owned,
                "execute_kw",
                &[
                    json!("db & <co>\r"),
                    json!(int),
                    args.clone(),
                    kwargs.clone(),
                ],
            );
            assert_eq!(
                String::from_utf8_lossy(&borrowed),
                String::from_utf8_lossy(&owned)
            );
        }
    }
}
