//! Which role each route needs: the API's table and the registry's.

use axum::http::Method;

use super::Role;

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Nothing,
    Role(Role),
}

/// The role `method` on `path` of the API needs.
pub fn api_need(method: &Method, path: &str) -> Need {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let read = method == Method::GET || method == Method::HEAD;
    match segments.as_slice() {
        ["health"] if read => Need::Nothing,
        ["orders"] if method == Method::POST => Need::Role(Role::Shop),
        // Every customer's orders.
        ["orders"] if read => Need::Role(Role::Operator),
        ["orders", _] | ["orders", _, "history"] | ["customers", _, "orders"] if read => {
            Need::Role(Role::Shop)
        }
        ["inventory", _] if read => Need::Role(Role::Shop),
        ["inventory", _] if method == Method::PUT => Need::Role(Role::Operator),
        ["orders", _, "cancel"] if method == Method::POST => Need::Role(Role::Operator),
        ["consumers"] | ["pipeline"] | ["analytics"] | ["metrics"] if read => {
            Need::Role(Role::Operator)
        }
        ["dlq", ..] | ["projections", ..] => Need::Role(Role::Operator),
        ["consumers", _, "replay"] if method == Method::POST => Need::Role(Role::Operator),
        ["customers", _, "forget"] if method == Method::POST => Need::Role(Role::Operator),
        // Signing in to the console, and its stylesheet, need no token yet.
        ["ui", "login"] | ["ui", "logout"] => Need::Nothing,
        ["ui", "console.css"] if read => Need::Nothing,
        // The console shows every order and the pipeline.
        ["ui", ..] if read => Need::Role(Role::Operator),
        ["openapi.json"] if read => Need::Role(Role::Shop),
        // Unknown routes and methods: any known token, so that a caller without one
        // learns nothing of what exists.
        _ => Need::Role(Role::Shop),
    }
}

/// The role `method` on `path` (relative to the registry's root) needs.
pub fn registry_need(method: &Method, path: &str, query: Option<&str>) -> Need {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let permanent = query.is_some_and(|q| {
        q.split('&').any(|p| {
            p.split_once('=')
                .is_some_and(|(k, v)| k == "permanent" && v.eq_ignore_ascii_case("true"))
        })
    });
    let role = match (method.clone(), segments.as_slice()) {
        (Method::GET | Method::HEAD, _) => Role::Shop,
        // A lookup and compatibility checks change nothing.
        (Method::POST, ["subjects", _]) | (Method::POST, ["compatibility", ..]) => Role::Shop,
        (Method::POST, ["subjects", _, "versions"]) => Role::Operator,
        (Method::DELETE, ["subjects", _] | ["subjects", _, "versions", _]) if permanent => {
            Role::Admin
        }
        (Method::DELETE, ["subjects", _] | ["subjects", _, "versions", _]) => Role::Operator,
        (Method::PUT, ["config", _]) => Role::Operator,
        (Method::PUT, ["config"]) => Role::Admin,
        _ => Role::Shop,
    };
    Need::Role(role)
}

/// The path within the registry, when `path` is one of the registry's.
pub fn registry_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/schema-registry")?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_of_the_api_needs_the_role_its_table_says() {
        let need = |m: Method, p: &str| api_need(&m, p);
        assert_eq!(need(Method::GET, "/health"), Need::Nothing);
        assert_eq!(need(Method::POST, "/health"), Need::Role(Role::Shop));
        assert_eq!(need(Method::POST, "/orders"), Need::Role(Role::Shop));
        assert_eq!(
            need(Method::GET, "/orders/x/history"),
            Need::Role(Role::Shop)
        );
        assert_eq!(need(Method::GET, "/inventory/S"), Need::Role(Role::Shop));
        assert_eq!(
            need(Method::PUT, "/inventory/S"),
            Need::Role(Role::Operator)
        );
        assert_eq!(
            need(Method::POST, "/orders/x/cancel"),
            Need::Role(Role::Operator)
        );
        assert_eq!(need(Method::GET, "/consumers"), Need::Role(Role::Operator));
        assert_eq!(need(Method::GET, "/pipeline"), Need::Role(Role::Operator));
        assert_eq!(need(Method::GET, "/orders"), Need::Role(Role::Operator));
        assert_eq!(need(Method::GET, "/ui/orders"), Need::Role(Role::Operator));
        assert_eq!(need(Method::GET, "/ui/login"), Need::Nothing);
        assert_eq!(need(Method::POST, "/ui/login"), Need::Nothing);
        assert_eq!(need(Method::GET, "/metrics"), Need::Role(Role::Operator));
        assert_eq!(
            need(Method::POST, "/projections/rebuild"),
            Need::Role(Role::Operator)
        );
        assert_eq!(
            need(Method::GET, "/projections/rebuild"),
            Need::Role(Role::Operator)
        );
        assert_eq!(
            need(Method::POST, "/customers/c-1/forget"),
            Need::Role(Role::Operator)
        );
        assert_eq!(need(Method::GET, "/openapi.json"), Need::Role(Role::Shop));
        assert_eq!(need(Method::GET, "/nowhere"), Need::Role(Role::Shop));
    }

    #[test]
    fn registry_writes_need_an_operator_and_global_or_permanent_ones_an_admin() {
        let need = |m: Method, p: &str, q: Option<&str>| registry_need(&m, p, q);
        assert_eq!(need(Method::GET, "/subjects", None), Need::Role(Role::Shop));
        assert_eq!(
            need(Method::POST, "/subjects/s", None),
            Need::Role(Role::Shop)
        );
        assert_eq!(
            need(Method::POST, "/subjects/s/versions", None),
            Need::Role(Role::Operator)
        );
        assert_eq!(
            need(Method::DELETE, "/subjects/s/versions/1", None),
            Need::Role(Role::Operator)
        );
        assert_eq!(
            need(Method::DELETE, "/subjects/s", Some("permanent=TRUE")),
            Need::Role(Role::Admin)
        );
        assert_eq!(
            need(Method::PUT, "/config/s", None),
            Need::Role(Role::Operator)
        );
        assert_eq!(need(Method::PUT, "/config", None), Need::Role(Role::Admin));
        assert_eq!(registry_path("/schema-registry"), Some(""));
        assert_eq!(registry_path("/schema-registry/x"), Some("/x"));
        assert_eq!(registry_path("/schema-registryx"), None);
    }
}
