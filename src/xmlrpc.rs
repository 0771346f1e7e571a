//! XML-RPC codec: `methodCall` and `methodResponse` bytes to and from `serde_json::Value`.
//! It does no I/O. Encoding follows CPython's `xmlrpc.client` (the marshaller Odoo uses);
//! decoding accepts everything that `xmlrpc.client.loads` accepts.
//!
//! The decoder is a single streaming pass over the bytes, written for the small XML subset that
//! XML-RPC uses (elements, attributes that it ignores, character data, entity and character
//! references, CDATA, comments, processing instructions, a DOCTYPE without internal subset).
//! Text that needs no unescaping is borrowed from the input; array items and struct members
//! are collected on two scratch stacks and moved into exactly-sized `Vec`s and `Map`s.
//! It does not check that characters are allowed by XML 1.0, and it refuses what is not
//! XML-RPC (unknown value types, text between structural elements), where Python would
//! sometimes silently ignore it.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

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
    with_document(input, b"methodResponse", |parser| parser.method_response())
}

/// Decodes a `methodCall` into its method name and params (used by the demo ERP).
pub fn decode_call(input: &[u8]) -> Result<(String, Vec<Value>), DecodeError> {
    with_document(input, b"methodCall", |parser| parser.method_call())
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
/// not be copied into a `Value` first), or any value.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    Str(&'a str),
    Int(i64),
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
// Decoding

/// Checks the encoding and prolog, runs `body` on the root element, checks the epilogue.
fn with_document<T>(
    input: &[u8],
    root: &[u8],
    body: fn(&mut Parser<'_>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    match declared_encoding(input)? {
        Encoding::Utf8 => {
            let text = std::str::from_utf8(input).map_err(|error| DecodeError {
                offset: error.valid_up_to(),
                message: "invalid UTF-8".to_owned(),
            })?;
            Parser::new(text).document(root, body)
        }
        Encoding::Latin1 => {
            // Every Latin-1 byte is the code point of the same number.
            let text: String = input.iter().map(|&byte| char::from(byte)).collect();
            Parser::new(&text)
                .document(root, body)
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

/// The encoding named by the XML declaration, if any (UTF-8 without one).
fn declared_encoding(input: &[u8]) -> Result<Encoding, DecodeError> {
    let start = if input.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let rest = input.get(start..).unwrap_or_default();
    if !(rest.starts_with(b"<?xml") && rest.get(5).is_some_and(|&b| is_space(b))) {
        return Ok(Encoding::Utf8);
    }
    let Some(end) = memchr::memmem::find(rest, b"?>") else {
        return Err(DecodeError {
            offset: input.len(),
            message: "unterminated XML declaration".to_owned(),
        });
    };
    let Some(name) = pseudo_attribute(rest.get(..end).unwrap_or_default(), b"encoding") else {
        return Ok(Encoding::Utf8);
    };
    match name.to_ascii_lowercase().as_slice() {
        b"utf-8" | b"utf8" | b"us-ascii" | b"ascii" => Ok(Encoding::Utf8),
        b"iso-8859-1" | b"latin-1" | b"latin1" | b"iso8859-1" => Ok(Encoding::Latin1),
        _ => Err(DecodeError {
            offset: start,
            message: format!("unsupported encoding {:?}", show(name)),
        }),
    }
}

/// A tag just read: `<name ...>`, `<name .../>` or `</name>`.
struct Tag<'a> {
    kind: TagKind,
    /// The name as written, with its namespace prefix if any.
    qualified: &'a [u8],
    /// The name without namespace prefix: what XML-RPC dispatches on (as Python does).
    local: &'a [u8],
    offset: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Start,
    Empty,
    End,
}

/// The value types, by the local name of their element.
#[derive(Clone, Copy)]
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

struct Parser<'a> {
    /// The document, known to be UTF-8; `input` is the same as bytes.
    text: &'a str,
    input: &'a [u8],
    pos: usize,
    depth: usize,
    /// Items of the arrays being decoded, innermost last.
    items: Vec<Value>,
    /// Members of the structs being decoded, innermost last.
    members: Vec<(String, Value)>,
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

fn show(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// Byte equality of two short names, without a call to `memcmp`.
#[inline]
fn same(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).all(|(a, b)| a == b)
}

/// The index of the first `<`, `&` or `\r`: the bytes that end plain character data.
#[inline]
fn find_markup(bytes: &[u8]) -> Option<usize> {
    // Most texts are short: a plain loop beats setting up the vectorised search.
    const SHORT: usize = 24;
    for (index, &byte) in bytes.iter().take(SHORT).enumerate() {
        if byte == b'<' || byte == b'&' || byte == b'\r' {
            return Some(index);
        }
    }
    let tail = bytes.get(SHORT..)?;
    memchr::memchr3(b'<', b'&', b'\r', tail).map(|index| index + SHORT)
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            text,
            input: text.as_bytes(),
            pos: 0,
            depth: 0,
            items: Vec::new(),
            members: Vec::new(),
        }
    }

    fn error<T>(&self, offset: usize, message: impl Into<String>) -> Result<T, DecodeError> {
        Err(DecodeError {
            offset,
            message: message.into(),
        })
    }

    #[inline]
    fn rest(&self) -> &'a [u8] {
        self.input.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// The text between two byte offsets, which are never inside a character (the parser
    /// only stops at ASCII bytes).
    #[inline]
    fn slice(&self, start: usize, end: usize) -> Result<&'a str, DecodeError> {
        match self.text.get(start..end) {
            Some(text) => Ok(text),
            None => self.error(start, "text cut inside a character"),
        }
    }

    /// Consumes `literal` if the input continues with it.
    #[inline]
    fn eat(&mut self, literal: &[u8]) -> bool {
        if self.rest().starts_with(literal) {
            self.pos += literal.len();
            true
        } else {
            false
        }
    }

    /// Moves past `needle`, which must come later in the input; `what` names it in the error.
    fn skip_past(&mut self, needle: &[u8], what: &str) -> Result<(), DecodeError> {
        match memchr::memmem::find(self.rest(), needle) {
            Some(index) => {
                self.pos += index + needle.len();
                Ok(())
            }
            None => self.error(self.input.len(), format!("unterminated {what}")),
        }
    }

    /// Skips an optional byte order mark and XML declaration (its encoding was checked by
    /// [`declared_encoding`]), then comments, processing instructions and a DOCTYPE.
    fn prolog(&mut self) -> Result<(), DecodeError> {
        self.eat("\u{feff}".as_bytes());
        if self.rest().starts_with(b"<?xml") && self.rest().get(5).is_some_and(|&b| is_space(b)) {
            self.skip_past(b"?>", "XML declaration")?;
        }
        self.skip_misc()?;
        if self.rest().starts_with(b"<!DOCTYPE") {
            let start = self.pos;
            let Some(end) = self.rest().iter().position(|&b| b == b'>' || b == b'[') else {
                return self.error(start, "unterminated DOCTYPE");
            };
            if self.rest().get(end) == Some(&b'[') {
                return self.error(start, "DOCTYPE with an internal subset is not supported");
            }
            self.pos += end + 1;
            self.skip_misc()?;
        }
        Ok(())
    }

    /// Parses the prolog, the root element `root` with `body`, then allows only comments,
    /// processing instructions and whitespace up to the end.
    fn document<T>(
        &mut self,
        root: &[u8],
        body: fn(&mut Parser<'a>) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        self.prolog()?;
        if self.pos >= self.input.len() {
            return self.error(self.pos, "no element found");
        }
        let tag = self.tag()?;
        if tag.kind != TagKind::Start || tag.local != root {
            return self.error(
                tag.offset,
                format!("expected <{}>, found <{}>", show(root), show(tag.qualified)),
            );
        }
        let result = body(self)?;
        self.end(tag.qualified)?;
        self.skip_misc()?;
        if self.pos < self.input.len() {
            return self.error(self.pos, "junk after the root element");
        }
        Ok(result)
    }

    /// Skips whitespace, comments and processing instructions.
    #[inline]
    fn skip_misc(&mut self) -> Result<(), DecodeError> {
        loop {
            while self.peek().is_some_and(is_space) {
                self.pos += 1;
            }
            let rest = self.rest();
            match rest.get(1) {
                Some(b'!') if rest.starts_with(b"<!--") => {
                    self.pos += 4;
                    self.skip_past(b"-->", "comment")?;
                }
                Some(b'?') if rest.starts_with(b"<?") => {
                    self.pos += 2;
                    self.skip_past(b"?>", "processing instruction")?;
                }
                _ => return Ok(()),
            }
        }
    }

    /// Reads the tag at the current position (which must be `<`).
    fn tag(&mut self) -> Result<Tag<'a>, DecodeError> {
        let input = self.input;
        let offset = self.pos;
        if input.get(offset) != Some(&b'<') {
            return if offset >= input.len() {
                self.error(offset, "unexpected end of input")
            } else {
                self.error(offset, "expected a tag")
            };
        }
        let mut pos = offset + 1;
        let kind = if input.get(pos) == Some(&b'/') {
            pos += 1;
            TagKind::End
        } else {
            TagKind::Start
        };
        let name_start = pos;
        while input
            .get(pos)
            .is_some_and(|&b| !is_space(b) && b != b'>' && b != b'/')
        {
            pos += 1;
        }
        let qualified = input.get(name_start..pos).unwrap_or_default();
        if !qualified.first().is_some_and(|&b| is_name_start(b)) {
            return self.error(offset, "expected a tag name");
        }
        let local = match qualified.iter().rposition(|&b| b == b':') {
            Some(colon) => qualified.get(colon + 1..).unwrap_or_default(),
            None => qualified,
        };
        let kind = if kind == TagKind::End {
            while input.get(pos).is_some_and(|&b| is_space(b)) {
                pos += 1;
            }
            if input.get(pos) != Some(&b'>') {
                return self.error(pos, "expected '>'");
            }
            TagKind::End
        } else {
            // Attributes are allowed and ignored.
            let mut quote = None;
            loop {
                let Some(&byte) = input.get(pos) else {
                    return self.error(offset, "unterminated tag");
                };
                match (quote, byte) {
                    (Some(open), _) if byte == open => quote = None,
                    (Some(_), _) => {}
                    (None, b'"' | b'\'') => quote = Some(byte),
                    (None, b'>') => break TagKind::Start,
                    (None, b'/') if input.get(pos + 1) == Some(&b'>') => {
                        pos += 1;
                        break TagKind::Empty;
                    }
                    (None, b'<') => return self.error(pos, "'<' inside a tag"),
                    (None, _) => {}
                }
                pos += 1;
            }
        };
        self.pos = pos + 1;
        Ok(Tag {
            kind,
            qualified,
            local,
            offset,
        })
    }

    /// Reads the next tag after optional whitespace and comments.
    fn next_tag(&mut self) -> Result<Tag<'a>, DecodeError> {
        self.skip_misc()?;
        self.tag()
    }

    /// Reads the start tag of element `local` after optional whitespace and comments; returns
    /// its qualified name and whether it is empty (`<name/>`). `literal` is `<local>`, the
    /// common spelling, recognised without the general tag reader.
    #[inline]
    fn open(
        &mut self,
        literal: &[u8],
        local: &'static [u8],
        context: &str,
    ) -> Result<(&'a [u8], bool), DecodeError> {
        self.skip_misc()?;
        if self.eat(literal) {
            return Ok((local, false));
        }
        let tag = self.tag()?;
        if tag.kind == TagKind::End || tag.local != local {
            return self.error(tag.offset, format!("expected <{}> {context}", show(local)));
        }
        Ok((tag.qualified, tag.kind == TagKind::Empty))
    }

    /// Reads `</qualified>`, after optional whitespace and comments.
    #[inline]
    fn end(&mut self, qualified: &[u8]) -> Result<(), DecodeError> {
        // Fast path: the end tag comes after whitespace only, without spaces inside.
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
        let rest = self.rest();
        let length = qualified.len();
        if rest.get(..2) == Some(b"</")
            && rest
                .get(2..2 + length)
                .is_some_and(|name| same(name, qualified))
            && rest.get(2 + length) == Some(&b'>')
        {
            self.pos += length + 3;
            return Ok(());
        }
        self.end_slow(qualified)
    }

    fn end_slow(&mut self, qualified: &[u8]) -> Result<(), DecodeError> {
        let tag = self.next_tag()?;
        if tag.kind != TagKind::End || tag.qualified != qualified {
            return self.error(tag.offset, format!("expected </{}>", show(qualified)));
        }
        Ok(())
    }

    /// Reads the character data up to the next tag (start or end), resolving references,
    /// CDATA sections and line ends, skipping comments and processing instructions.
    #[inline]
    fn text(&mut self) -> Result<Cow<'a, str>, DecodeError> {
        let start = self.pos;
        let rest = self.rest();
        if let Some(index) = find_markup(rest) {
            let after = rest.get(index + 1).copied();
            if rest.get(index) == Some(&b'<') && after != Some(b'!') && after != Some(b'?') {
                self.pos = start + index;
                return Ok(Cow::Borrowed(self.slice(start, start + index)?));
            }
        }
        self.text_slow()
    }

    fn text_slow(&mut self) -> Result<Cow<'a, str>, DecodeError> {
        let input = self.input;
        let mut text = String::new();
        loop {
            let chunk_start = self.pos;
            let Some(index) = find_markup(self.rest()) else {
                return self.error(input.len(), "unexpected end of input");
            };
            text.push_str(self.slice(chunk_start, chunk_start + index)?);
            self.pos += index;
            let rest = self.rest();
            if rest.starts_with(b"&") {
                self.reference(&mut text)?;
            } else if rest.starts_with(b"\r") {
                // XML reads "\r\n" and a lone "\r" as "\n".
                text.push('\n');
                self.pos += if rest.get(1) == Some(&b'\n') { 2 } else { 1 };
            } else if rest.starts_with(b"<![CDATA[") {
                let content_start = self.pos + 9;
                self.pos = content_start;
                self.skip_past(b"]]>", "CDATA section")?;
                let content = self.slice(content_start, self.pos - 3)?;
                if content.contains('\r') {
                    text.push_str(&content.replace("\r\n", "\n").replace('\r', "\n"));
                } else {
                    text.push_str(content);
                }
            } else if rest.starts_with(b"<!--") {
                self.pos += 4;
                self.skip_past(b"-->", "comment")?;
            } else if rest.starts_with(b"<?") {
                self.pos += 2;
                self.skip_past(b"?>", "processing instruction")?;
            } else if rest.starts_with(b"<!") {
                return self.error(self.pos, "unexpected markup declaration");
            } else {
                return Ok(Cow::Owned(text));
            }
        }
    }

    /// Resolves the entity or character reference at the current position (`&`).
    fn reference(&mut self, text: &mut String) -> Result<(), DecodeError> {
        let start = self.pos;
        let rest = self.rest();
        let Some(semicolon) = rest.iter().take(40).position(|&b| b == b';') else {
            return self.error(start, "bad entity reference");
        };
        let name = rest.get(1..semicolon).unwrap_or_default();
        let resolved = match name {
            b"lt" => '<',
            b"gt" => '>',
            b"amp" => '&',
            b"quot" => '"',
            b"apos" => '\'',
            _ => {
                let code = match name {
                    [b'#', b'x', hex @ ..] => parse_radix(hex, 16),
                    [b'#', decimal @ ..] => parse_radix(decimal, 10),
                    _ => return self.error(start, "undefined entity"),
                };
                match code.and_then(char::from_u32) {
                    Some(ch) if ch != '\0' => ch,
                    _ => return self.error(start, "bad character reference"),
                }
            }
        };
        text.push(resolved);
        self.pos += semicolon + 1;
        Ok(())
    }

    /// Reads the text of an element whose start tag was just read, and its end tag.
    #[inline]
    fn element_text(&mut self, qualified: &[u8], empty: bool) -> Result<Cow<'a, str>, DecodeError> {
        if empty {
            return Ok(Cow::Borrowed(""));
        }
        let text = self.text()?;
        self.end(qualified)?;
        Ok(text)
    }

    fn method_response(&mut self) -> Result<Result<Value, Fault>, DecodeError> {
        let tag = self.next_tag()?;
        match (tag.kind, tag.local) {
            (TagKind::Start, b"params") => {
                let mut params = self.params()?;
                self.end(tag.qualified)?;
                if params.len() != 1 {
                    return self.error(
                        tag.offset,
                        format!("expected one param, found {}", params.len()),
                    );
                }
                Ok(Ok(params.pop().unwrap_or_default()))
            }
            (TagKind::Start, b"fault") => {
                let (value, offset) = self.value_element("in <fault>")?;
                self.end(tag.qualified)?;
                Ok(Err(self.fault(value, offset)?))
            }
            (TagKind::Empty, b"params") => self.error(tag.offset, "expected one param, found 0"),
            _ => self.error(tag.offset, "expected <params> or <fault>"),
        }
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

    fn method_call(&mut self) -> Result<(String, Vec<Value>), DecodeError> {
        let (qualified, empty) = self.open(b"<methodName>", b"methodName", "in <methodCall>")?;
        let name = self.element_text(qualified, empty)?.into_owned();
        self.skip_misc()?;
        if self.rest().starts_with(b"</") {
            return Ok((name, Vec::new()));
        }
        let (qualified, empty) = self.open(b"<params>", b"params", "in <methodCall>")?;
        if empty {
            return Ok((name, Vec::new()));
        }
        let params = self.params()?;
        self.end(qualified)?;
        Ok((name, params))
    }

    /// Reads `<param><value>...</value></param>` up to (not including) `</params>`.
    fn params(&mut self) -> Result<Vec<Value>, DecodeError> {
        let mut params = Vec::new();
        loop {
            self.skip_misc()?;
            if self.rest().starts_with(b"</") {
                return Ok(params);
            }
            let (qualified, empty) = self.open(b"<param>", b"param", "in <params>")?;
            if empty {
                return self.error(self.pos, "empty <param>");
            }
            params.push(self.value_element("in <param>")?.0);
            self.end(qualified)?;
        }
    }

    /// Reads a whole `<value>` element; returns it and the offset where it starts.
    fn value_element(&mut self, context: &str) -> Result<(Value, usize), DecodeError> {
        self.skip_misc()?;
        let offset = self.pos;
        let (qualified, empty) = self.open(b"<value>", b"value", context)?;
        if empty {
            return Ok((Value::String(String::new()), offset));
        }
        Ok((self.value(qualified)?, offset))
    }

    /// Reads a value whose `<value>` start tag (named `qualified`) was just read, up to and
    /// including its end tag.
    fn value(&mut self, qualified: &[u8]) -> Result<Value, DecodeError> {
        // Fast path: a typed value follows at once, spelled as Python and Odoo spell it.
        let rest = self.rest();
        let known: Option<(Type, &'static [u8], usize)> = match rest.get(1) {
            Some(b's') if rest.starts_with(b"<string>") => Some((Type::String, b"string", 8)),
            Some(b'i') if rest.starts_with(b"<int>") => Some((Type::Int, b"int", 5)),
            Some(b'b') if rest.starts_with(b"<boolean>") => Some((Type::Boolean, b"boolean", 9)),
            Some(b'a') if rest.starts_with(b"<array>") => Some((Type::Array, b"array", 7)),
            Some(b's') if rest.starts_with(b"<struct>") => Some((Type::Struct, b"struct", 8)),
            Some(b'd') if rest.starts_with(b"<double>") => Some((Type::Double, b"double", 8)),
            _ => None,
        };
        if let Some((kind, name, length)) = known {
            let offset = self.pos;
            self.pos += length;
            let value = self.typed(kind, name, false, offset)?;
            self.end(qualified)?;
            return Ok(value);
        }

        let text_offset = self.pos;
        let text = self.text()?;
        let tag = self.tag()?;
        if tag.kind == TagKind::End {
            // An untyped `<value>text</value>` is a string.
            if tag.qualified != qualified {
                return self.error(tag.offset, format!("expected </{}>", show(qualified)));
            }
            return Ok(Value::String(text.into_owned()));
        }
        if !text.bytes().all(is_space) {
            return self.error(text_offset, "text before a typed value");
        }
        let Some(kind) = type_of(tag.local) else {
            return self.error(
                tag.offset,
                format!("unknown type <{}>", show(tag.qualified)),
            );
        };
        let value = self.typed(kind, tag.qualified, tag.kind == TagKind::Empty, tag.offset)?;
        self.end(qualified)?;
        Ok(value)
    }

    /// Reads the typed value whose start tag (named `qualified`, at `offset`) was just read,
    /// up to and including its end tag.
    #[inline]
    fn typed(
        &mut self,
        kind: Type,
        qualified: &[u8],
        empty: bool,
        offset: usize,
    ) -> Result<Value, DecodeError> {
        let text_offset = self.pos;
        let at = |message| DecodeError {
            offset: text_offset,
            message,
        };
        match kind {
            Type::String => Ok(Value::String(
                self.element_text(qualified, empty)?.into_owned(),
            )),
            Type::Int => parse_int(&self.element_text(qualified, empty)?).map_err(at),
            Type::Boolean => match self.element_text(qualified, empty)?.as_ref() {
                "0" => Ok(Value::Bool(false)),
                "1" => Ok(Value::Bool(true)),
                _ => self.error(text_offset, "bad boolean value"),
            },
            Type::Double => parse_double(&self.element_text(qualified, empty)?).map_err(at),
            Type::Nil => {
                self.element_text(qualified, empty)?;
                Ok(Value::Null)
            }
            Type::DateTime => {
                let text = self.element_text(qualified, empty)?;
                Ok(Value::String(text.trim_matches(is_space_char).to_owned()))
            }
            Type::Base64 => Ok(Value::String(
                self.element_text(qualified, empty)?.into_owned(),
            )),
            Type::Array => self.array(qualified, empty, offset),
            Type::Struct => self.structure(qualified, empty, offset),
        }
    }

    fn enter(&mut self, offset: usize) -> Result<(), DecodeError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error(offset, format!("nesting deeper than {MAX_DEPTH}"));
        }
        Ok(())
    }

    /// Reads an array (its `<data>` is optional, as for Python) after its start tag.
    fn array(
        &mut self,
        qualified: &[u8],
        empty: bool,
        offset: usize,
    ) -> Result<Value, DecodeError> {
        if empty {
            return Ok(Value::Array(Vec::new()));
        }
        self.enter(offset)?;
        let mark = self.items.len();
        // The qualified name of the open `<data>`, if any; whether one was seen.
        let mut data: Option<&'a [u8]> = None;
        let mut data_seen = false;
        loop {
            self.skip_misc()?;
            if self.eat(b"<value>") {
                let value = self.value(b"value")?;
                self.items.push(value);
                continue;
            }
            if !data_seen && self.eat(b"<data>") {
                data = Some(b"data");
                data_seen = true;
                continue;
            }
            if self.rest().starts_with(b"</") {
                match data.take() {
                    Some(data_name) => self.end(data_name)?,
                    None => {
                        self.end(qualified)?;
                        break;
                    }
                }
                continue;
            }
            let tag = self.tag()?;
            match (tag.kind, tag.local) {
                (TagKind::Start | TagKind::Empty, b"value") => {
                    let value = if tag.kind == TagKind::Empty {
                        Value::String(String::new())
                    } else {
                        self.value(tag.qualified)?
                    };
                    self.items.push(value);
                }
                (TagKind::Start, b"data") if !data_seen => {
                    data = Some(tag.qualified);
                    data_seen = true;
                }
                (TagKind::Empty, b"data") if !data_seen => data_seen = true,
                _ => return self.error(tag.offset, "expected <value> in <array>"),
            }
        }
        self.depth -= 1;
        let items: Vec<Value> = self.items.drain(mark..).collect();
        Ok(Value::Array(items))
    }

    /// Reads a struct after its start tag; a repeated name keeps its first place and the last
    /// value, as a Python dict does.
    fn structure(
        &mut self,
        qualified: &[u8],
        empty: bool,
        offset: usize,
    ) -> Result<Value, DecodeError> {
        if empty {
            return Ok(Value::Object(Map::new()));
        }
        self.enter(offset)?;
        let mark = self.members.len();
        loop {
            self.skip_misc()?;
            if self.rest().starts_with(b"</") {
                self.end(qualified)?;
                break;
            }
            let (member, empty) = self.open(b"<member>", b"member", "in <struct>")?;
            if empty {
                return self.error(self.pos, "empty <member>");
            }
            let (name_tag, empty) = self.open(b"<name>", b"name", "in <member>")?;
            let name = self.element_text(name_tag, empty)?.into_owned();
            let (value, _) = self.value_element("in <member>")?;
            self.members.push((name, value));
            self.end(member)?;
        }
        self.depth -= 1;
        let members: Map<String, Value> = self.members.drain(mark..).collect();
        Ok(Value::Object(members))
    }
}

fn is_name_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte == b':' || byte >= 0x80
}

fn is_space_char(ch: char) -> bool {
    matches!(ch, ' ' | '\t' | '\r' | '\n')
}

/// Finds `name="value"` (or single quotes) in an XML declaration.
fn pseudo_attribute<'d>(declaration: &'d [u8], name: &[u8]) -> Option<&'d [u8]> {
    let at = memchr::memmem::find(declaration, name)?;
    let rest = declaration.get(at + name.len()..)?;
    let rest = rest.get(rest.iter().position(|&b| !is_space(b))?..)?;
    let rest = rest.strip_prefix(b"=")?;
    let rest = rest.get(rest.iter().position(|&b| !is_space(b))?..)?;
    let quote = *rest.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value = rest.get(1..)?;
    value.get(..value.iter().position(|&b| b == quote)?)
}

fn parse_radix(digits: &[u8], radix: u32) -> Option<u32> {
    if digits.is_empty() {
        return None;
    }
    let first_significant = digits
        .iter()
        .position(|&b| b != b'0')
        .unwrap_or(digits.len());
    let digits = digits.get(first_significant..).unwrap_or_default();
    if digits.is_empty() {
        return Some(0);
    }
    if digits.len() > 8 {
        return None;
    }
    let text = std::str::from_utf8(digits).ok()?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, radix).ok()
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
