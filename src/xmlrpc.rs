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
    out.extend_from_slice(b"<?xml version='1.0'?>\n<methodCall>\n<methodName>");
    write_escaped(out, method);
    out.extend_from_slice(b"</methodName>\n<params>\n");
    for param in params {
        out.extend_from_slice(b"<param>\n");
        write_value(out, param);
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
    out.extend_from_slice(int.to_string().as_bytes());
    out.extend_from_slice(if wide {
        b"</i8></value>\n"
    } else {
        b"</int></value>\n"
    });
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

/// Checks the prolog and its encoding, runs `body` on the root element, checks the epilogue.
fn with_document<T>(
    input: &[u8],
    root: &[u8],
    body: fn(&mut Parser<'_>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let mut parser = Parser::new(input);
    match parser.prolog()? {
        Encoding::Utf8 => parser.document(root, body),
        Encoding::Latin1 => {
            // Every Latin-1 byte is the code point of the same number.
            let transcoded: String = input.iter().map(|&byte| char::from(byte)).collect();
            let mut parser = Parser::new(transcoded.as_bytes());
            parser.prolog()?;
            parser.document(root, body)
        }
    }
}

enum Encoding {
    Utf8,
    Latin1,
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

struct Parser<'a> {
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

fn utf8(bytes: &[u8], offset: usize) -> Result<&str, DecodeError> {
    std::str::from_utf8(bytes).map_err(|error| DecodeError {
        offset: offset + error.valid_up_to(),
        message: "invalid UTF-8".to_owned(),
    })
}

fn show(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

impl<'a> Parser<'a> {
    fn new(input: &'a [u8]) -> Self {
        Parser {
            input,
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

    fn rest(&self) -> &'a [u8] {
        self.input.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
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

    /// Skips an optional byte order mark and XML declaration, then comments, processing
    /// instructions and a DOCTYPE; returns the declared encoding.
    fn prolog(&mut self) -> Result<Encoding, DecodeError> {
        if self.input.starts_with(b"\xEF\xBB\xBF") {
            self.pos = 3;
        }
        let mut encoding = Encoding::Utf8;
        if self.rest().starts_with(b"<?xml") && self.rest().get(5).is_some_and(|&b| is_space(b)) {
            let start = self.pos;
            self.skip_past(b"?>", "XML declaration")?;
            let declaration = self.input.get(start..self.pos).unwrap_or_default();
            if let Some(name) = pseudo_attribute(declaration, b"encoding") {
                encoding = match name.to_ascii_lowercase().as_slice() {
                    b"utf-8" | b"utf8" | b"us-ascii" | b"ascii" => Encoding::Utf8,
                    b"iso-8859-1" | b"latin-1" | b"latin1" | b"iso8859-1" => Encoding::Latin1,
                    _ => {
                        return self.error(start, format!("unsupported encoding {:?}", show(name)))
                    }
                };
            }
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
        Ok(encoding)
    }

    /// Parses the root element `root` with `body`, then allows only comments, processing
    /// instructions and whitespace up to the end.
    fn document<T>(
        &mut self,
        root: &[u8],
        body: fn(&mut Parser<'a>) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
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
    fn skip_misc(&mut self) -> Result<(), DecodeError> {
        loop {
            while self.peek().is_some_and(is_space) {
                self.pos += 1;
            }
            let rest = self.rest();
            if rest.starts_with(b"<!--") {
                self.pos += 4;
                self.skip_past(b"-->", "comment")?;
            } else if rest.starts_with(b"<?") {
                self.pos += 2;
                self.skip_past(b"?>", "processing instruction")?;
            } else {
                return Ok(());
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
        if qualified.is_empty() || !qualified.first().is_some_and(|&b| is_name_start(b)) {
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

    /// Reads `</qualified>`, after optional whitespace and comments.
    fn end(&mut self, qualified: &[u8]) -> Result<(), DecodeError> {
        // Fast path: the end tag comes right away, without spaces inside.
        let rest = self.rest();
        if rest.len() > qualified.len() + 2
            && rest.starts_with(b"</")
            && rest.get(2..2 + qualified.len()) == Some(qualified)
            && rest.get(2 + qualified.len()) == Some(&b'>')
        {
            self.pos += qualified.len() + 3;
            return Ok(());
        }
        let tag = self.next_tag()?;
        if tag.kind != TagKind::End || tag.qualified != qualified {
            return self.error(tag.offset, format!("expected </{}>", show(qualified)));
        }
        Ok(())
    }

    /// Reads the character data up to the next tag (start or end), resolving references,
    /// CDATA sections and line ends, skipping comments and processing instructions.
    fn text(&mut self) -> Result<Cow<'a, str>, DecodeError> {
        let input = self.input;
        let start = self.pos;
        let rest = self.rest();
        match memchr::memchr3(b'<', b'&', b'\r', rest) {
            None => return self.error(input.len(), "unexpected end of input"),
            Some(index) => {
                let after = rest.get(index + 1).copied();
                if rest.get(index) == Some(&b'<') && after != Some(b'!') && after != Some(b'?') {
                    self.pos = start + index;
                    let text = utf8(rest.get(..index).unwrap_or_default(), start)?;
                    return Ok(Cow::Borrowed(text));
                }
            }
        }
        let mut text = String::new();
        loop {
            let chunk_start = self.pos;
            let rest = self.rest();
            let Some(index) = memchr::memchr3(b'<', b'&', b'\r', rest) else {
                return self.error(input.len(), "unexpected end of input");
            };
            text.push_str(utf8(rest.get(..index).unwrap_or_default(), chunk_start)?);
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
                let content = input.get(content_start..self.pos - 3).unwrap_or_default();
                let content = utf8(content, content_start)?;
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
                    _ => return self.error(start, format!("undefined entity &{};", show(name))),
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
    fn element_text(&mut self, tag: &Tag<'a>) -> Result<Cow<'a, str>, DecodeError> {
        if tag.kind == TagKind::Empty {
            return Ok(Cow::Borrowed(""));
        }
        let text = self.text()?;
        self.end(tag.qualified)?;
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
                let value_tag = self.next_tag()?;
                if value_tag.kind == TagKind::End || value_tag.local != b"value" {
                    return self.error(value_tag.offset, "expected <value> in <fault>");
                }
                let value = self.value(&value_tag)?;
                self.end(tag.qualified)?;
                Ok(Err(self.fault(value, value_tag.offset)?))
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
        let tag = self.next_tag()?;
        if tag.kind == TagKind::End || tag.local != b"methodName" {
            return self.error(tag.offset, "expected <methodName>");
        }
        let name = self.element_text(&tag)?.into_owned();
        let rest_start = self.pos;
        self.skip_misc()?;
        if self.rest().starts_with(b"</") {
            self.pos = rest_start;
            return Ok((name, Vec::new()));
        }
        let tag = self.tag()?;
        let params = match (tag.kind, tag.local) {
            (TagKind::Start, b"params") => {
                let params = self.params()?;
                self.end(tag.qualified)?;
                params
            }
            (TagKind::Empty, b"params") => Vec::new(),
            _ => return self.error(tag.offset, "expected <params>"),
        };
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
            let tag = self.tag()?;
            if tag.kind != TagKind::Start || tag.local != b"param" {
                return self.error(tag.offset, "expected <param>");
            }
            let value_tag = self.next_tag()?;
            if value_tag.kind == TagKind::End || value_tag.local != b"value" {
                return self.error(value_tag.offset, "expected <value> in <param>");
            }
            params.push(self.value(&value_tag)?);
            self.end(tag.qualified)?;
        }
    }

    /// Reads a value whose `<value>` start tag was just read, up to and including `</value>`.
    fn value(&mut self, value_tag: &Tag<'a>) -> Result<Value, DecodeError> {
        if value_tag.kind == TagKind::Empty {
            return Ok(Value::String(String::new()));
        }
        let text_offset = self.pos;
        let text = self.text()?;
        let tag = self.tag()?;
        if tag.kind == TagKind::End {
            // An untyped `<value>text</value>` is a string.
            if tag.qualified != value_tag.qualified {
                return self.error(
                    tag.offset,
                    format!("expected </{}>", show(value_tag.qualified)),
                );
            }
            return Ok(Value::String(text.into_owned()));
        }
        if !text.bytes().all(is_space) {
            return self.error(text_offset, "text before a typed value");
        }
        let value = self.typed(&tag)?;
        self.end(value_tag.qualified)?;
        Ok(value)
    }

    /// Reads the typed value whose start tag was just read, up to and including its end tag.
    fn typed(&mut self, tag: &Tag<'a>) -> Result<Value, DecodeError> {
        let offset = self.pos;
        match tag.local {
            b"string" => Ok(Value::String(self.element_text(tag)?.into_owned())),
            b"int" | b"i4" | b"i8" | b"i1" | b"i2" | b"biginteger" => {
                let text = self.element_text(tag)?;
                parse_int(&text).map_err(|message| DecodeError { offset, message })
            }
            b"boolean" => match self.element_text(tag)?.as_ref() {
                "0" => Ok(Value::Bool(false)),
                "1" => Ok(Value::Bool(true)),
                _ => self.error(offset, "bad boolean value"),
            },
            b"double" | b"float" | b"bigdecimal" => {
                let text = self.element_text(tag)?;
                parse_double(&text).map_err(|message| DecodeError { offset, message })
            }
            b"nil" => {
                self.element_text(tag)?;
                Ok(Value::Null)
            }
            b"dateTime.iso8601" => {
                let text = self.element_text(tag)?;
                Ok(Value::String(text.trim_matches(is_space_char).to_owned()))
            }
            b"base64" => Ok(Value::String(self.element_text(tag)?.into_owned())),
            b"array" => self.array(tag),
            b"struct" => self.structure(tag),
            other => self.error(tag.offset, format!("unknown type <{}>", show(other))),
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
    fn array(&mut self, array_tag: &Tag<'a>) -> Result<Value, DecodeError> {
        if array_tag.kind == TagKind::Empty {
            return Ok(Value::Array(Vec::new()));
        }
        self.enter(array_tag.offset)?;
        let mark = self.items.len();
        let mut data_tag = None;
        loop {
            let tag = self.next_tag()?;
            match (tag.kind, tag.local) {
                (TagKind::Start | TagKind::Empty, b"value") => {
                    let value = self.value(&tag)?;
                    self.items.push(value);
                }
                (TagKind::Start, b"data") if data_tag.is_none() => data_tag = Some(tag),
                (TagKind::Empty, b"data") if data_tag.is_none() => {}
                (TagKind::End, _) => match data_tag.take() {
                    Some(data) if tag.qualified == data.qualified => {}
                    None if tag.qualified == array_tag.qualified => break,
                    _ => return self.error(tag.offset, "mismatched end tag in <array>"),
                },
                _ => return self.error(tag.offset, "expected <value> in <array>"),
            }
        }
        self.depth -= 1;
        let items: Vec<Value> = self.items.drain(mark..).collect();
        Ok(Value::Array(items))
    }

    /// Reads a struct after its start tag; a repeated name keeps its first place and the last
    /// value, as a Python dict does.
    fn structure(&mut self, struct_tag: &Tag<'a>) -> Result<Value, DecodeError> {
        if struct_tag.kind == TagKind::Empty {
            return Ok(Value::Object(Map::new()));
        }
        self.enter(struct_tag.offset)?;
        let mark = self.members.len();
        loop {
            let tag = self.next_tag()?;
            match (tag.kind, tag.local) {
                (TagKind::Start, b"member") => {
                    let name_tag = self.next_tag()?;
                    if name_tag.kind == TagKind::End || name_tag.local != b"name" {
                        return self.error(name_tag.offset, "expected <name> in <member>");
                    }
                    let name = self.element_text(&name_tag)?.into_owned();
                    let value_tag = self.next_tag()?;
                    if value_tag.kind == TagKind::End || value_tag.local != b"value" {
                        return self.error(value_tag.offset, "expected <value> in <member>");
                    }
                    let value = self.value(&value_tag)?;
                    self.members.push((name, value));
                    self.end(tag.qualified)?;
                }
                (TagKind::End, _) if tag.qualified == struct_tag.qualified => break,
                _ => return self.error(tag.offset, "expected <member> in <struct>"),
            }
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
    let bad = || format!("bad integer {text:?}");
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
    let out_of_range = || format!("integer out of range {text:?}");
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
    let bad = || format!("bad double {text:?}");
    let cleaned = without_underscores(trimmed).ok_or_else(bad)?;
    let float: f64 = cleaned.parse().map_err(|_| bad())?;
    Number::from_f64(float)
        .map(Value::Number)
        .ok_or_else(|| format!("non-finite double {text:?}"))
}
