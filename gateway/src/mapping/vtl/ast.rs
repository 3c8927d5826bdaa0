//! The parsed form of a Velocity template.

/// Where something starts in the template, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    /// A reference printed into the output.
    Ref(Reference),
    /// `\$ref`: backslashes before a reference (Velocity's escaping rules depend on whether the
    /// reference is defined at render time).
    EscapedRef {
        backslashes: usize,
        reference: Reference,
    },
    Set {
        target: Reference,
        value: Expr,
        pos: Pos,
    },
    If {
        branches: Vec<(Expr, Vec<Node>)>,
        otherwise: Option<Vec<Node>>,
    },
    Foreach {
        var: String,
        iterable: Expr,
        body: Vec<Node>,
    },
    Break,
    Stop,
    /// `#name(args)`: a macro call, or plain text if no macro of that name exists.
    MacroCall {
        name: String,
        args: Vec<Expr>,
        literal: String,
        pos: Pos,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Reference {
    /// `$!name`: render nothing when null.
    pub quiet: bool,
    pub root: String,
    pub chain: Vec<Accessor>,
    /// The reference as written, printed when it is null and not quiet.
    pub literal: String,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub(crate) enum Accessor {
    Property(String),
    Method(String, Vec<Expr>),
    Index(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// A single-quoted string, or a double-quoted one with nothing to interpolate.
    Str(String),
    /// A double-quoted string with references or directives inside.
    Interpolated(Vec<Node>),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Range(Box<Expr>, Box<Expr>),
    Ref(Reference),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

/// `#macro(name $a $b) body #end`.
#[derive(Debug, Clone)]
pub(crate) struct Macro {
    pub params: Vec<String>,
    pub body: Vec<Node>,
}
