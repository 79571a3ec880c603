//! A router that keeps a table of what it serves: each route's method and path
//! template, as registered, so that the OpenAPI document can be checked against the
//! routes themselves rather than a copy of them.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, on};

/// One route: a method on a path template (`/orders/{order_id}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    pub method: Method,
    pub path: String,
}

/// The path a route of `path` has once nested under `prefix`, as axum serves it: the
/// nested root `/` is the prefix itself.
pub fn nested(prefix: &str, path: &str) -> String {
    match path {
        "/" => prefix.to_owned(),
        _ => format!("{prefix}{path}"),
    }
}

/// A [`Router`] being built, with the table of its routes.
#[derive(Debug)]
pub struct Routes<S> {
    router: Router<S>,
    served: Vec<Route>,
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            served: Vec::new(),
        }
    }

    /// Serves `method` on `path` with `handler`; a path may take several methods.
    fn on<H: Handler<T, S>, T: 'static>(mut self, method: Method, path: &str, handler: H) -> Self {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        self.router = self.router.route(path, on(filter, handler));
        self.served.push(Route {
            method,
            path: path.to_owned(),
        });
        self
    }

    pub fn get<H: Handler<T, S>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.on(Method::GET, path, handler)
    }

    pub fn post<H: Handler<T, S>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.on(Method::POST, path, handler)
    }

    pub fn put<H: Handler<T, S>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.on(Method::PUT, path, handler)
    }

    pub fn delete<H: Handler<T, S>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.on(Method::DELETE, path, handler)
    }

    /// Serves `routes` under `prefix`.
    pub fn nest(mut self, prefix: &str, routes: Routes<S>) -> Self {
        self.router = self.router.nest(prefix, routes.router);
        self.served
            .extend(routes.served.into_iter().map(|route| Route {
                path: nested(prefix, &route.path),
                ..route
            }));
        self
    }

    /// Changes the router but not the routes it serves (fallbacks, layers).
    pub fn map(mut self, change: impl FnOnce(Router<S>) -> Router<S>) -> Self {
        self.router = change(self.router);
        self
    }

    /// Gives the handlers their state.
    pub fn with_state<S2>(self, state: S) -> Routes<S2> {
        Routes {
            router: self.router.with_state(state),
            served: self.served,
        }
    }

    pub fn router(self) -> Router<S> {
        self.router
    }

    /// The routes served, in the order they were added.
    pub fn served(&self) -> &[Route] {
        &self.served
    }
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Self::new()
    }
}
