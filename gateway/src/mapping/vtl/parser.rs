//! Velocity 1.7's syntax, parsed to an AST in one pass.
//!
//! Whitespace follows Velocity 1.7's lexer, checked against the real engine (tests/oracle):
//! a line break right after a directive's closing `)` or after `#else`/`#end` is swallowed,
//! with any spaces before it; spaces before `#set` are swallowed when nothing but spaces
//! separates `#set` from the previous token.

use std::collections::HashMap;

use super::ast::{Accessor, BinOp, Expr, Macro, Node, Pos, Reference};
use super::VtlError;

pub(super) struct Parsed {
    pub nodes: Vec<Node>,
    pub macros: HashMap<String, Macro>,
}

pub(super) fn parse(name: &str, src: &str) -> Result<Parsed, VtlError> {
    let mut p = Parser::new(name, src);
    let (nodes, end) = p.block(&[])?;
    if let Some(t) = end {
        return Err(p.error_at(
            p.i,
            format!("#{t} without a matching #if, #foreach or #macro"),
        ));
    }
    Ok(Parsed {
        nodes,
        macros: p.macros,
    })
}

struct Parser<'a> {
    name: &'a str,
    src: Vec<char>,
    i: usize,
    line_starts: Vec<usize>,
    macros: HashMap<String, Macro>,
    /// Directive nesting, so runaway recursion becomes an error rather than a stack overflow.
    depth: usize,
    /// Expression nesting, and operators in the current top-level expression: evaluation
    /// recurses through them, so both are bounded.
    expr_level: usize,
    ops: usize,
}

/// Most operators one expression may hold (real templates use a handful).
const MAX_OPS: usize = 256;

const MAX_DEPTH: usize = 200;

/// Directive words that end a block.
const TERMINATORS: &[&str] = &["elseif", "else", "end"];

fn ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

impl<'a> Parser<'a> {
    fn new(name: &'a str, src: &str) -> Self {
        let src: Vec<char> = src.chars().collect();
        let mut line_starts = vec![0];
        for (i, c) in src.iter().enumerate() {
            if *c == '\n' {
                line_starts.push(i + 1);
            }
        }
        Parser {
            name,
            src,
            i: 0,
            line_starts,
            macros: HashMap::new(),
            depth: 0,
            expr_level: 0,
            ops: 0,
        }
    }

    fn pos(&self, at: usize) -> Pos {
        let line = self.line_starts.partition_point(|s| *s <= at);
        Pos {
            line: line as u32,
            col: (at - self.line_starts[line - 1] + 1) as u32,
        }
    }

    fn error_at(&self, at: usize, message: impl Into<String>) -> VtlError {
        VtlError::new(self.name, self.pos(at), message)
    }

    fn peek(&self) -> Option<char> {
        self.src.get(self.i).copied()
    }

    fn at(&self, k: usize) -> Option<char> {
        self.src.get(self.i + k).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        (self.i..)
            .zip(s.chars())
            .all(|(k, c)| self.src.get(k) == Some(&c))
    }

    fn text_of(&self, from: usize, to: usize) -> String {
        self.src[from..to].iter().collect()
    }

    /// Swallow `[ \t]*` then one line break, if that is what follows.
    fn eat_line_end(&mut self) {
        let mut k = self.i;
        while matches!(self.src.get(k), Some(' ' | '\t')) {
            k += 1;
        }
        match self.src.get(k) {
            Some('\n') => self.i = k + 1,
            Some('\r') => {
                self.i = if self.src.get(k + 1) == Some(&'\n') {
                    k + 2
                } else {
                    k + 1
                }
            }
            _ => {}
        }
    }

    /// Parse nodes until one of `ends` (a directive word) or the end of input. Returns the
    /// terminator found, already consumed.
    fn block(&mut self, ends: &[&str]) -> Result<(Vec<Node>, Option<String>), VtlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(self.i, "directives nest too deeply"));
        }
        let mut nodes = Vec::new();
        let mut text = String::new();
        let flush = |text: &mut String, nodes: &mut Vec<Node>| {
            if !text.is_empty() {
                nodes.push(Node::Text(std::mem::take(text)));
            }
        };
        while let Some(c) = self.peek() {
            match c {
                '\\' => {
                    let start = self.i;
                    let mut n = 0;
                    while self.at(n) == Some('\\') {
                        n += 1;
                    }
                    self.i += n;
                    if self.peek() == Some('$') {
                        if let Some(r) = self.try_reference()? {
                            flush(&mut text, &mut nodes);
                            nodes.push(Node::EscapedRef {
                                backslashes: n,
                                reference: r,
                            });
                            continue;
                        }
                    } else if self.peek() == Some('#') {
                        if let Some(word) = self.directive_word_at(self.i) {
                            text.extend(std::iter::repeat_n('\\', n / 2));
                            if n % 2 == 1 {
                                // An escaped directive prints as written.
                                let len = word.1;
                                text.push_str(&self.text_of(self.i, self.i + len));
                                self.i += len;
                            }
                            continue;
                        }
                    }
                    text.push_str(&self.text_of(start, self.i));
                }
                '$' => match self.try_reference()? {
                    Some(r) => {
                        flush(&mut text, &mut nodes);
                        nodes.push(Node::Ref(r));
                    }
                    None => {
                        text.push('$');
                        self.i += 1;
                    }
                },
                '#' => {
                    if self.starts_with("##") {
                        flush(&mut text, &mut nodes);
                        while let Some(c) = self.peek() {
                            self.i += 1;
                            if c == '\n' {
                                break;
                            }
                        }
                        continue;
                    }
                    if self.starts_with("#*") {
                        flush(&mut text, &mut nodes);
                        let start = self.i;
                        self.i += 2;
                        loop {
                            if self.peek().is_none() {
                                return Err(self.error_at(start, "unclosed comment: expected *#"));
                            }
                            if self.starts_with("*#") {
                                self.i += 2;
                                break;
                            }
                            self.i += 1;
                        }
                        continue;
                    }
                    if self.starts_with("#[[") {
                        let start = self.i;
                        self.i += 3;
                        loop {
                            if self.peek().is_none() {
                                return Err(
                                    self.error_at(start, "unclosed #[[ block: expected ]]#")
                                );
                            }
                            if self.starts_with("]]#") {
                                self.i += 3;
                                break;
                            }
                            text.push(self.src[self.i]);
                            self.i += 1;
                        }
                        continue;
                    }
                    let Some((word, len)) = self.directive_word_at(self.i) else {
                        text.push('#');
                        self.i += 1;
                        continue;
                    };
                    let start = self.i;
                    if TERMINATORS.contains(&word.as_str()) {
                        if ends.contains(&word.as_str()) {
                            self.i += len;
                            if word != "elseif" {
                                self.eat_line_end();
                            }
                            flush(&mut text, &mut nodes);
                            self.depth -= 1;
                            return Ok((nodes, Some(word)));
                        }
                        return Err(self.error_at(
                            start,
                            format!("#{word} without a matching #if, #foreach or #macro"),
                        ));
                    }
                    match word.as_str() {
                        "set" => {
                            if text.chars().all(|c| c == ' ' || c == '\t') {
                                text.clear();
                            }
                            flush(&mut text, &mut nodes);
                            self.i += len;
                            nodes.push(self.set(start)?);
                        }
                        "if" => {
                            flush(&mut text, &mut nodes);
                            self.i += len;
                            nodes.push(self.if_chain(start)?);
                        }
                        "foreach" => {
                            flush(&mut text, &mut nodes);
                            self.i += len;
                            nodes.push(self.foreach(start)?);
                        }
                        "break" | "stop" => {
                            flush(&mut text, &mut nodes);
                            self.i += len;
                            // `#break($foreach)` names a scope; only the innermost loop exists here.
                            let save = self.i;
                            self.skip_ws();
                            if self.peek() == Some('(') {
                                self.i += 1;
                                self.skip_ws();
                                if self.peek() == Some('$') {
                                    self.expr()?;
                                    self.skip_ws();
                                }
                                self.expect(')')?;
                            } else {
                                self.i = save;
                            }
                            nodes.push(if word == "break" {
                                Node::Break
                            } else {
                                Node::Stop
                            });
                        }
                        "macro" => {
                            flush(&mut text, &mut nodes);
                            self.i += len;
                            self.macro_def(start)?;
                        }
                        "include" | "parse" | "evaluate" | "define" => {
                            return Err(self.error_at(
                                start,
                                format!(
                                    "#{word} is not available in API Gateway mapping templates"
                                ),
                            ));
                        }
                        _ => {
                            // `#name(...)` may be a macro call; without parentheses it is text.
                            let after = self.i + len;
                            let mut k = after;
                            while matches!(self.src.get(k), Some(' ' | '\t')) {
                                k += 1;
                            }
                            if self.src.get(k) == Some(&'(') {
                                flush(&mut text, &mut nodes);
                                self.i = k + 1;
                                let args = self.macro_args()?;
                                let literal = self.text_of(start, self.i);
                                self.eat_line_end();
                                nodes.push(Node::MacroCall {
                                    name: word,
                                    args,
                                    literal,
                                    pos: self.pos(start),
                                });
                            } else {
                                text.push_str(&self.text_of(start, after));
                                self.i = after;
                            }
                        }
                    }
                }
                _ => {
                    text.push(c);
                    self.i += 1;
                }
            }
        }
        flush(&mut text, &mut nodes);
        self.depth -= 1;
        Ok((nodes, None))
    }

    /// `#word` or `#{word}` at `at`: the word and the length of the whole token.
    fn directive_word_at(&self, at: usize) -> Option<(String, usize)> {
        let mut k = at + 1;
        let braced = self.src.get(k) == Some(&'{');
        if braced {
            k += 1;
        }
        if !self
            .src
            .get(k)
            .copied()
            .is_some_and(|c| c.is_ascii_alphabetic())
        {
            return None;
        }
        let start = k;
        while self
            .src
            .get(k)
            .copied()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            k += 1;
        }
        let word: String = self.src[start..k].iter().collect();
        if braced {
            if self.src.get(k) != Some(&'}') {
                return None;
            }
            k += 1;
        } else {
            // `#else`/`#end` glued to following letters are still the directive in Velocity
            // only with braces; `#endx` is a word of its own.
        }
        Some((word, k - at))
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result<(), VtlError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.error_at(
                self.i,
                match self.peek() {
                    Some(found) => format!("expected `{c}`, found `{found}`"),
                    None => format!("expected `{c}`, found the end of the template"),
                },
            ))
        }
    }

    fn set(&mut self, start: usize) -> Result<Node, VtlError> {
        self.expect('(')?;
        self.skip_ws();
        let target = match self.try_reference()? {
            Some(r) => r,
            None => {
                return Err(self.error_at(
                    self.i,
                    "#set needs a reference to assign, like #set($x = 1)",
                ))
            }
        };
        self.expect('=')?;
        let value = self.expr()?;
        self.expect(')')?;
        self.eat_line_end();
        Ok(Node::Set {
            target,
            value,
            pos: self.pos(start),
        })
    }

    fn condition(&mut self) -> Result<Expr, VtlError> {
        self.expect('(')?;
        let e = self.expr()?;
        self.expect(')')?;
        self.eat_line_end();
        Ok(e)
    }

    fn if_chain(&mut self, start: usize) -> Result<Node, VtlError> {
        let mut branches = Vec::new();
        let mut otherwise = None;
        let mut cond = self.condition()?;
        loop {
            let (body, end) = self.block(&["elseif", "else", "end"])?;
            match end.as_deref() {
                Some("elseif") => {
                    branches.push((cond, body));
                    cond = self.condition()?;
                }
                Some("else") => {
                    branches.push((cond, body));
                    let (body, end) = self.block(&["end"])?;
                    if end.is_none() {
                        return Err(self.error_at(start, "#if without #end"));
                    }
                    otherwise = Some(body);
                    break;
                }
                Some(_) => {
                    branches.push((cond, body));
                    break;
                }
                None => return Err(self.error_at(start, "#if without #end")),
            }
        }
        Ok(Node::If {
            branches,
            otherwise,
        })
    }

    fn foreach(&mut self, start: usize) -> Result<Node, VtlError> {
        self.expect('(')?;
        self.skip_ws();
        let var = match self.try_reference()? {
            Some(r) if r.chain.is_empty() => r.root,
            _ => {
                return Err(self.error_at(
                    self.i,
                    "#foreach needs a loop variable, like #foreach($item in $list)",
                ))
            }
        };
        self.skip_ws();
        if !self.starts_with("in") {
            return Err(self.error_at(self.i, "expected `in` in #foreach"));
        }
        self.i += 2;
        let iterable = self.expr()?;
        self.expect(')')?;
        self.eat_line_end();
        let (body, end) = self.block(&["end"])?;
        if end.is_none() {
            return Err(self.error_at(start, "#foreach without #end"));
        }
        Ok(Node::Foreach {
            var,
            iterable,
            body,
        })
    }

    fn macro_def(&mut self, start: usize) -> Result<(), VtlError> {
        self.expect('(')?;
        self.skip_ws();
        let name_start = self.i;
        while self.peek().is_some_and(ident_char) {
            self.i += 1;
        }
        let name = self.text_of(name_start, self.i);
        if name.is_empty() {
            return Err(self.error_at(self.i, "#macro needs a name, like #macro(greet $who)"));
        }
        let mut params = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(')') => {
                    self.i += 1;
                    break;
                }
                Some(',') => self.i += 1,
                Some('$') => match self.try_reference()? {
                    Some(r) if r.chain.is_empty() => params.push(r.root),
                    _ => {
                        return Err(self
                            .error_at(self.i, "macro parameters are plain references like $name"))
                    }
                },
                _ => return Err(self.error_at(self.i, "expected a macro parameter or `)`")),
            }
        }
        self.eat_line_end();
        let (body, end) = self.block(&["end"])?;
        if end.is_none() {
            return Err(self.error_at(start, "#macro without #end"));
        }
        self.macros.insert(name, Macro { params, body });
        Ok(())
    }

    /// Arguments of a macro call, separated by spaces or commas, up to `)`.
    fn macro_args(&mut self) -> Result<Vec<Expr>, VtlError> {
        let mut args = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(')') => {
                    self.i += 1;
                    return Ok(args);
                }
                Some(',') => self.i += 1,
                None => return Err(self.error_at(self.i, "expected `)` to end the macro call")),
                _ => args.push(self.unary()?),
            }
        }
    }

    /// A reference at `$`, or `None` (and nothing consumed) if the text there is not one.
    fn try_reference(&mut self) -> Result<Option<Reference>, VtlError> {
        let start = self.i;
        let mut k = self.i + 1;
        let quiet = self.src.get(k) == Some(&'!');
        if quiet {
            k += 1;
        }
        let formal = self.src.get(k) == Some(&'{');
        if formal {
            k += 1;
        }
        if !self.src.get(k).copied().is_some_and(ident_start) {
            return Ok(None);
        }
        let root_start = k;
        while self.src.get(k).copied().is_some_and(ident_char) {
            k += 1;
        }
        let root: String = self.src[root_start..k].iter().collect();
        self.i = k;
        let mut chain = Vec::new();
        loop {
            match self.peek() {
                Some('.') if self.at(1).is_some_and(ident_start) => {
                    self.i += 1;
                    let s = self.i;
                    while self.peek().is_some_and(ident_char) {
                        self.i += 1;
                    }
                    let name = self.text_of(s, self.i);
                    if self.peek() == Some('(') {
                        self.i += 1;
                        let args = self.call_args()?;
                        chain.push(Accessor::Method(name, args));
                    } else {
                        chain.push(Accessor::Property(name));
                    }
                }
                Some('[') => {
                    let save = self.i;
                    self.i += 1;
                    let idx = self.expr();
                    self.skip_ws();
                    match idx {
                        Ok(e) if self.peek() == Some(']') => {
                            self.i += 1;
                            chain.push(Accessor::Index(e));
                        }
                        _ => {
                            self.i = save;
                            break;
                        }
                    }
                }
                _ => break,
            }
        }
        if formal {
            if self.peek() == Some('}') {
                self.i += 1;
            } else {
                self.i = start;
                return Ok(None);
            }
        }
        Ok(Some(Reference {
            quiet,
            root,
            chain,
            literal: self.text_of(start, self.i),
            pos: self.pos(start),
        }))
    }

    fn call_args(&mut self) -> Result<Vec<Expr>, VtlError> {
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.i += 1;
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.i += 1,
                Some(')') => {
                    self.i += 1;
                    return Ok(args);
                }
                _ => return Err(self.error_at(self.i, "expected `,` or `)` in method arguments")),
            }
        }
    }

    // ---- expressions ----

    fn expr(&mut self) -> Result<Expr, VtlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(self.i, "expression nests too deeply"));
        }
        if self.expr_level == 0 {
            self.ops = 0;
        }
        self.expr_level += 1;
        let e = self.or();
        self.expr_level -= 1;
        self.depth -= 1;
        e
    }

    fn count_op(&mut self) -> Result<(), VtlError> {
        self.ops += 1;
        if self.ops > MAX_OPS {
            return Err(self.error_at(
                self.i,
                format!("an expression may hold at most {MAX_OPS} operators"),
            ));
        }
        Ok(())
    }

    /// The operator at the cursor, if it is one of `ops` (word operators need a word boundary).
    fn operator(&mut self, ops: &[(&str, BinOp)]) -> Option<BinOp> {
        self.skip_ws();
        for (text, op) in ops {
            if self.starts_with(text) {
                let after = self.src.get(self.i + text.len()).copied();
                let wordy = text.chars().all(|c| c.is_ascii_alphabetic());
                if wordy && after.is_some_and(ident_char) {
                    continue;
                }
                // `=` alone is assignment, not `==`; `<`/`>` must not eat `<=`/`>=` (ordered).
                self.i += text.len();
                return Some(*op);
            }
        }
        None
    }

    fn binary_level(
        &mut self,
        ops: &[(&str, BinOp)],
        next: fn(&mut Self) -> Result<Expr, VtlError>,
    ) -> Result<Expr, VtlError> {
        let mut left = next(self)?;
        while let Some(op) = self.operator(ops) {
            self.count_op()?;
            let right = next(self)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn or(&mut self) -> Result<Expr, VtlError> {
        self.binary_level(&[("||", BinOp::Or), ("or", BinOp::Or)], Self::and)
    }

    fn and(&mut self) -> Result<Expr, VtlError> {
        self.binary_level(&[("&&", BinOp::And), ("and", BinOp::And)], Self::equality)
    }

    fn equality(&mut self) -> Result<Expr, VtlError> {
        self.binary_level(
            &[
                ("==", BinOp::Eq),
                ("!=", BinOp::Ne),
                ("eq", BinOp::Eq),
                ("ne", BinOp::Ne),
            ],
            Self::relational,
        )
    }

    fn relational(&mut self) -> Result<Expr, VtlError> {
        self.binary_level(
            &[
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
                ("le", BinOp::Le),
                ("ge", BinOp::Ge),
                ("lt", BinOp::Lt),
                ("gt", BinOp::Gt),
            ],
            Self::additive,
        )
    }

    fn additive(&mut self) -> Result<Expr, VtlError> {
        self.binary_level(
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            Self::multiplicative,
        )
    }

    fn multiplicative(&mut self) -> Result<Expr, VtlError> {
        self.binary_level(
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Mod)],
            Self::unary,
        )
    }

    fn unary(&mut self) -> Result<Expr, VtlError> {
        self.skip_ws();
        if self.peek() == Some('!') && self.at(1) != Some('=') {
            self.i += 1;
            self.count_op()?;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.starts_with("not") && !self.at(3).is_some_and(ident_char) {
            self.i += 3;
            self.count_op()?;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some('-') {
            self.i += 1;
            self.count_op()?;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, VtlError> {
        self.skip_ws();
        let start = self.i;
        match self.peek() {
            Some('(') => {
                self.i += 1;
                let e = self.expr()?;
                self.expect(')')?;
                Ok(e)
            }
            Some('$') => match self.try_reference()? {
                Some(r) => Ok(Expr::Ref(r)),
                None => Err(self.error_at(start, "expected a reference after `$`")),
            },
            Some('"') => self.double_quoted(),
            Some('\'') => {
                self.i += 1;
                let mut s = String::new();
                loop {
                    match self.peek() {
                        None => return Err(self.error_at(start, "unterminated string")),
                        Some('\'') if self.at(1) == Some('\'') => {
                            s.push('\'');
                            self.i += 2;
                        }
                        Some('\'') => {
                            self.i += 1;
                            return Ok(Expr::Str(s));
                        }
                        Some(c) => {
                            s.push(c);
                            self.i += 1;
                        }
                    }
                }
            }
            Some(c) if c.is_ascii_digit() => self.number(),
            Some('[') => {
                self.i += 1;
                self.skip_ws();
                if self.peek() == Some(']') {
                    self.i += 1;
                    return Ok(Expr::List(Vec::new()));
                }
                let first = self.expr()?;
                self.skip_ws();
                if self.starts_with("..") {
                    self.i += 2;
                    let last = self.expr()?;
                    self.expect(']')?;
                    return Ok(Expr::Range(Box::new(first), Box::new(last)));
                }
                let mut items = vec![first];
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => {
                            self.i += 1;
                            items.push(self.expr()?);
                        }
                        Some(']') => {
                            self.i += 1;
                            return Ok(Expr::List(items));
                        }
                        _ => return Err(self.error_at(self.i, "expected `,` or `]` in a list")),
                    }
                }
            }
            Some('{') => {
                self.i += 1;
                let mut entries = Vec::new();
                self.skip_ws();
                if self.peek() == Some('}') {
                    self.i += 1;
                    return Ok(Expr::Map(entries));
                }
                loop {
                    let k = self.expr()?;
                    self.expect(':')?;
                    let v = self.expr()?;
                    entries.push((k, v));
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => self.i += 1,
                        Some('}') => {
                            self.i += 1;
                            return Ok(Expr::Map(entries));
                        }
                        _ => return Err(self.error_at(self.i, "expected `,` or `}` in a map")),
                    }
                }
            }
            _ => {
                for (word, value) in [("true", true), ("false", false)] {
                    if self.starts_with(word) && !self.at(word.len()).is_some_and(ident_char) {
                        self.i += word.len();
                        return Ok(Expr::Bool(value));
                    }
                }
                Err(self.error_at(
                    start,
                    match self.peek() {
                        Some(c) => format!("unexpected `{c}` in an expression"),
                        None => "unexpected end of the template in an expression".to_string(),
                    },
                ))
            }
        }
    }

    fn number(&mut self) -> Result<Expr, VtlError> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let mut float = false;
        // `1..5` is a range, not a float.
        if self.peek() == Some('.') && self.at(1).is_some_and(|c| c.is_ascii_digit()) {
            float = true;
            self.i += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        if matches!(self.peek(), Some('e' | 'E'))
            && (self.at(1).is_some_and(|c| c.is_ascii_digit())
                || (matches!(self.at(1), Some('+' | '-'))
                    && self.at(2).is_some_and(|c| c.is_ascii_digit())))
        {
            float = true;
            self.i += 2;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        let text = self.text_of(start, self.i);
        if float {
            text.parse::<f64>()
                .map(Expr::Float)
                .map_err(|_| self.error_at(start, format!("`{text}` is not a number")))
        } else {
            match text.parse::<i64>() {
                Ok(n) => Ok(Expr::Int(n)),
                Err(_) => Err(self.error_at(start, format!("`{text}` is too large a number"))),
            }
        }
    }

    /// A double-quoted string: `""` is a quote; no backslash escapes (Velocity 1.7 keeps them);
    /// references and directives inside are rendered when the string is evaluated.
    fn double_quoted(&mut self) -> Result<Expr, VtlError> {
        let start = self.i;
        self.i += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error_at(start, "unterminated string")),
                Some('"') if self.at(1) == Some('"') => {
                    s.push('"');
                    self.i += 2;
                }
                Some('"') => {
                    self.i += 1;
                    break;
                }
                Some('\\') if self.at(1) == Some('"') => {
                    return Err(self.error_at(
                        self.i,
                        "Velocity has no \\\" escape: write \"\" for a quote inside a double-quoted string",
                    ));
                }
                Some(c) => {
                    s.push(c);
                    self.i += 1;
                }
            }
        }
        if !s.contains('$') && !s.contains('#') {
            return Ok(Expr::Str(s));
        }
        let mut inner = Parser::new(self.name, &s);
        let base = self.pos(start + 1);
        let (nodes, end) = inner.block(&[]).map_err(|mut e| {
            if e.line == 1 {
                e.col += base.col - 1;
            }
            e.line += base.line - 1;
            e
        })?;
        if let Some(t) = end {
            return Err(self.error_at(start, format!("#{t} without a start inside a string")));
        }
        // Macros defined inside a string are visible after it, as in Velocity.
        self.macros.extend(inner.macros);
        Ok(Expr::Interpolated(nodes))
    }
}
