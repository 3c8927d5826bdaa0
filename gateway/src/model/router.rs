//! Resource routing with API Gateway's precedence.
//!
//! Routes compile into a segment tree. At each level an exact segment is tried first, then the
//! `{param}` child, then the greedy `{name+}` child; a branch that cannot serve the method falls
//! back to the next kind (so `POST /pets` reaches `ANY /{proxy+}` when `/pets` only has GET). An
//! explicit method beats `ANY` on the same resource. Matching walks one level per path segment, so
//! its cost grows with the segments of the request path, not with the number of routes.
//!
//! Path rules (aws-behaviour §2): one trailing slash is ignored for matching and dropped from greedy values
//! (`/a/` gives proxy=`a`); double slashes are kept (`/a//b` gives proxy=`a//b`); values are not
//! percent-decoded.

use std::collections::HashMap;

use crate::spec::RouteMethod;

/// Index of a route in the API's route list.
pub(super) type RouteId = usize;

#[derive(Debug, Default, Clone)]
struct Methods {
    slots: [Option<RouteId>; 8],
}

impl Methods {
    fn get(&self, m: RouteMethod) -> Option<RouteId> {
        self.slots[m.index()].or(self.slots[RouteMethod::Any.index()])
    }
    fn set(&mut self, m: RouteMethod, id: RouteId) -> Option<RouteId> {
        self.slots[m.index()].replace(id)
    }
}

#[derive(Debug, Default, Clone)]
struct Node {
    statics: HashMap<Box<str>, Node>,
    param: Option<(Box<str>, Box<Node>)>,
    greedy: Option<(Box<str>, Methods)>,
    methods: Methods,
}

/// A successful match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    pub route: RouteId,
    /// Path parameters in path order, values exactly as they appear in the request path.
    pub params: Vec<(String, String)>,
}

/// Why a route could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("path must start with `/`")]
    NoLeadingSlash,
    #[error("segment `{0}` has characters API Gateway does not allow (only A-Z a-z 0-9 _ . , : - and a whole-segment {{param}})")]
    BadSegment(String),
    #[error("greedy parameter `{{{0}+}}` must be the last path segment")]
    GreedyNotLast(String),
    #[error("`{{{new}}}` conflicts with sibling `{{{existing}}}`: a resource may have only one variable child")]
    ParamConflict { existing: String, new: String },
    #[error("route {0} is defined twice")]
    Duplicate(String),
}

/// The compiled route table of one API.
#[derive(Debug, Default, Clone)]
pub struct Router {
    root: Node,
    default_route: Option<RouteId>,
    len: usize,
}

enum Segment<'a> {
    Static(&'a str),
    Param(&'a str),
    Greedy(&'a str),
}

fn parse_segment(seg: &str) -> Result<Segment<'_>, RouteError> {
    if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        let (name, greedy) = match inner.strip_suffix('+') {
            Some(n) => (n, true),
            None => (inner, false),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return Err(RouteError::BadSegment(seg.to_string()));
        }
        return Ok(if greedy {
            Segment::Greedy(name)
        } else {
            Segment::Param(name)
        });
    }
    if seg.is_empty()
        || !seg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.,:-".contains(c))
    {
        return Err(RouteError::BadSegment(seg.to_string()));
    }
    Ok(Segment::Static(seg))
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Add `method path` (a resource path like `/orders/{id}`).
    pub fn insert(
        &mut self,
        method: RouteMethod,
        path: &str,
        id: RouteId,
    ) -> Result<(), RouteError> {
        let rest = path.strip_prefix('/').ok_or(RouteError::NoLeadingSlash)?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let segments: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let mut node = &mut self.root;
        for (i, seg) in segments.iter().enumerate() {
            match parse_segment(seg)? {
                Segment::Static(s) => node = node.statics.entry(s.into()).or_default(),
                Segment::Param(name) => {
                    let slot = node
                        .param
                        .get_or_insert_with(|| (name.into(), Box::default()));
                    if &*slot.0 != name {
                        return Err(RouteError::ParamConflict {
                            existing: slot.0.to_string(),
                            new: name.to_string(),
                        });
                    }
                    node = &mut slot.1;
                }
                Segment::Greedy(name) => {
                    if i + 1 != segments.len() {
                        return Err(RouteError::GreedyNotLast(name.to_string()));
                    }
                    let slot = node
                        .greedy
                        .get_or_insert_with(|| (name.into(), Methods::default()));
                    if &*slot.0 != name {
                        return Err(RouteError::ParamConflict {
                            existing: format!("{}+", slot.0),
                            new: format!("{name}+"),
                        });
                    }
                    if slot.1.set(method, id).is_some() {
                        return Err(RouteError::Duplicate(format!("{method} {path}")));
                    }
                    self.len += 1;
                    return Ok(());
                }
            }
        }
        if node.methods.set(method, id).is_some() {
            return Err(RouteError::Duplicate(format!("{method} {path}")));
        }
        self.len += 1;
        Ok(())
    }

    /// The HTTP API `$default` route, taken when nothing else matches.
    pub fn set_default_route(&mut self, id: RouteId) -> Result<(), RouteError> {
        if self.default_route.replace(id).is_some() {
            return Err(RouteError::Duplicate("$default".into()));
        }
        self.len += 1;
        Ok(())
    }

    /// Find the route for a request method and raw (undecoded) path.
    pub fn lookup(&self, method: RouteMethod, path: &str) -> Option<RouteMatch> {
        self.lookup_declared(method, path)
            .or_else(|| self.default_match())
    }

    /// The route a declared path matches, not counting `$default`.
    pub fn lookup_declared(&self, method: RouteMethod, path: &str) -> Option<RouteMatch> {
        let rest = path.strip_prefix('/').unwrap_or(path);
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let segments: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let mut params = Vec::new();
        walk(&self.root, &segments, 0, method, rest, &mut params)
            .map(|route| RouteMatch { route, params })
    }

    /// The `$default` route, if set.
    pub fn default_match(&self) -> Option<RouteMatch> {
        self.default_route.map(|route| RouteMatch {
            route,
            params: Vec::new(),
        })
    }

    /// Whether an HTTP API `$default` route is set.
    pub fn has_default_route(&self) -> bool {
        self.default_route.is_some()
    }
}

/// Depth-first match: exact, then `{param}`, then greedy, backing off when a branch fails.
fn walk(
    node: &Node,
    segs: &[&str],
    i: usize,
    method: RouteMethod,
    raw: &str,
    params: &mut Vec<(String, String)>,
) -> Option<RouteId> {
    if i == segs.len() {
        return node.methods.get(method);
    }
    let seg = segs[i];
    if let Some(child) = node.statics.get(seg) {
        if let Some(id) = walk(child, segs, i + 1, method, raw, params) {
            return Some(id);
        }
    }
    if let Some((name, child)) = &node.param {
        if !seg.is_empty() {
            params.push((name.to_string(), seg.to_string()));
            if let Some(id) = walk(child, segs, i + 1, method, raw, params) {
                return Some(id);
            }
            params.pop();
        }
    }
    if let Some((name, methods)) = &node.greedy {
        if let Some(id) = methods.get(method) {
            // The greedy value is the rest of the raw path from this segment on, so double
            // slashes inside it survive.
            let offset: usize = segs[..i].iter().map(|s| s.len() + 1).sum();
            let value = &raw[offset.min(raw.len())..];
            if !value.is_empty() {
                params.push((name.to_string(), value.to_string()));
                return Some(id);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use RouteMethod::*;

    fn router(routes: &[(RouteMethod, &str)]) -> Router {
        let mut r = Router::new();
        for (i, (m, p)) in routes.iter().enumerate() {
            r.insert(*m, p, i).expect("valid route");
        }
        r
    }

    /// (routes, request method, request path, expected route index, expected params)
    #[test]
    fn precedence_table() {
        let routes = [
            (Get, "/"),                     // 0
            (Get, "/pets"),                 // 1
            (Get, "/pets/{id}"),            // 2
            (Get, "/pets/dog"),             // 3
            (Any, "/{proxy+}"),             // 4
            (Post, "/pets/{id}"),           // 5
            (Any, "/pets/{id}"),            // 6
            (Get, "/pets/{id}/toys/{toy}"), // 7
            (Get, "/files/{path+}"),        // 8
            (Get, "/a/b/c"),                // 9
            (Get, "/a/{x}/d"),              // 10
        ];
        let r = router(&routes);
        type Case<'a> = (
            RouteMethod,
            &'a str,
            Option<usize>,
            &'a [(&'a str, &'a str)],
        );
        let cases: &[Case] = &[
            (Get, "/", Some(0), &[]),
            (Get, "/pets", Some(1), &[]),
            (Get, "/pets/", Some(1), &[]),
            (Get, "/pets/dog", Some(3), &[]),
            (Get, "/pets/cat", Some(2), &[("id", "cat")]),
            (Post, "/pets/cat", Some(5), &[("id", "cat")]),
            (Delete, "/pets/cat", Some(6), &[("id", "cat")]),
            (Post, "/pets", Some(4), &[("proxy", "pets")]),
            (
                Get,
                "/pets/1/toys/ball",
                Some(7),
                &[("id", "1"), ("toy", "ball")],
            ),
            (Get, "/pets/1/toys", Some(4), &[("proxy", "pets/1/toys")]),
            (Get, "/files/a/b/c.txt", Some(8), &[("path", "a/b/c.txt")]),
            (Get, "/files/a//b/", Some(8), &[("path", "a//b")]),
            (Get, "/proxy-value/", Some(4), &[("proxy", "proxy-value")]),
            (Get, "/a//b", Some(4), &[("proxy", "a//b")]),
            (Get, "/a/b/d", Some(10), &[("x", "b")]),
            (Get, "/a/b/c", Some(9), &[]),
            (
                Get,
                "/pets/test%2Balias",
                Some(2),
                &[("id", "test%2Balias")],
            ),
        ];
        for (m, path, want, params) in cases {
            let got = r.lookup(*m, path);
            assert_eq!(got.as_ref().map(|g| g.route), *want, "{m} {path}");
            if let Some(g) = got {
                let p: Vec<(&str, &str)> = g
                    .params
                    .iter()
                    .map(|(a, b)| (a.as_str(), b.as_str()))
                    .collect();
                assert_eq!(p, *params, "{m} {path}");
            }
        }
    }

    #[test]
    fn no_match_without_catch_all() {
        let r = router(&[(Get, "/pets"), (Get, "/pets/{id}")]);
        assert_eq!(r.lookup(Post, "/pets"), None);
        assert_eq!(r.lookup(Get, "/owners"), None);
        assert_eq!(r.lookup(Get, "/"), None);
        // GET does not serve HEAD.
        assert_eq!(r.lookup(Head, "/pets"), None);
        // An empty segment never binds a parameter.
        assert_eq!(r.lookup(Get, "/pets//"), None);
    }

    #[test]
    fn greedy_needs_one_segment() {
        let r = router(&[(Any, "/{proxy+}")]);
        assert_eq!(r.lookup(Get, "/"), None);
        assert!(r.lookup(Get, "/x").is_some());
    }

    #[test]
    fn default_route_is_last_resort() {
        let mut r = router(&[(Get, "/pets"), (Any, "/{proxy+}")]);
        r.set_default_route(99).expect("one default");
        assert_eq!(r.lookup(Get, "/pets").map(|m| m.route), Some(0));
        assert_eq!(r.lookup(Get, "/x").map(|m| m.route), Some(1));
        assert_eq!(r.lookup(Get, "/").map(|m| m.route), Some(99));
    }

    #[test]
    fn invalid_routes() {
        let mut r = Router::new();
        assert_eq!(r.insert(Get, "pets", 0), Err(RouteError::NoLeadingSlash));
        assert!(matches!(
            r.insert(Get, "/a b", 0),
            Err(RouteError::BadSegment(_))
        ));
        assert!(matches!(
            r.insert(Get, "/x-{id}", 0),
            Err(RouteError::BadSegment(_))
        ));
        assert!(matches!(
            r.insert(Get, "/{p+}/x", 0),
            Err(RouteError::GreedyNotLast(_))
        ));
        r.insert(Get, "/o/{id}", 1).expect("ok");
        assert!(matches!(
            r.insert(Get, "/o/{orderId}/items", 2),
            Err(RouteError::ParamConflict { .. })
        ));
        assert!(matches!(
            r.insert(Get, "/o/{id}", 3),
            Err(RouteError::Duplicate(_))
        ));
    }
}
