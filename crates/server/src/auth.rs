//! Bearer tokens with roles. `viewer` reads (and opens the websocket),
//! `dispatcher` also reports and handles incidents and commands drones,
//! `admin` also changes zones. Tokens come from the scenario's `[[token]]`
//! table and from `DISPATCH_TOKENS` (`role:token,role:token`).

use std::collections::HashMap;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use dispatch_core::config::TokenConfig;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;

/// What a token allows, weakest first (a stronger role can do all a weaker can).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Dispatcher,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "dispatcher" => Some(Role::Dispatcher),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Dispatcher => "dispatcher",
            Role::Admin => "admin",
        }
    }
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

/// The known tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_token: HashMap<String, Principal>,
}

impl Tokens {
    /// From the configuration and an environment value `role:token,role:token`.
    pub fn new(config: &[TokenConfig], env: Option<&str>) -> Result<Tokens, String> {
        let mut by_token = HashMap::new();
        for t in config {
            let role = Role::parse(&t.role).ok_or_else(|| format!("unknown role `{}`", t.role))?;
            by_token.insert(
                t.token.clone(),
                Principal {
                    name: t.name.clone(),
                    role,
                },
            );
        }
        for (i, item) in env
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            let (role, token) = item
                .split_once(':')
                .ok_or_else(|| format!("DISPATCH_TOKENS item {} is not ROLE:TOKEN", i + 1))?;
            let role = Role::parse(role)
                .ok_or_else(|| format!("DISPATCH_TOKENS item {}: unknown role `{role}`", i + 1))?;
            if token.len() < 8 {
                return Err(format!(
                    "DISPATCH_TOKENS item {}: a token must be at least 8 characters",
                    i + 1
                ));
            }
            by_token.insert(
                token.to_owned(),
                Principal {
                    name: format!("{} token from the environment", role.as_str()),
                    role,
                },
            );
        }
        Ok(Tokens { by_token })
    }

    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }

    /// The principal of a token, if the token is known.
    pub fn check(&self, token: &str) -> Option<&Principal> {
        self.by_token.get(token)
    }

    /// Checks a presented token against a required role.
    pub fn authorize(&self, token: Option<&str>, need: Role) -> Result<Principal, ApiError> {
        let token = token.ok_or_else(|| {
            ApiError::unauthorized("missing token: send `Authorization: Bearer <token>`")
        })?;
        let p = self
            .check(token)
            .ok_or_else(|| ApiError::unauthorized("unknown token"))?;
        if p.role < need {
            return Err(ApiError::forbidden(format!(
                "this needs the {} role; the token has {}",
                need.as_str(),
                p.role.as_str()
            )));
        }
        Ok(p.clone())
    }
}

/// The bearer token of a request's `Authorization` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The token of a request that may carry it in its query (`?token=`: a
/// browser's `<img>` and `WebSocket` cannot set headers), else its bearer.
pub fn query_or_bearer<'a>(query: Option<&'a str>, headers: &'a HeaderMap) -> Option<&'a str> {
    query.or_else(|| bearer(headers))
}

async fn require(state: &AppState, need: Role, req: Request, next: Next) -> Response {
    match state.tokens.authorize(bearer(req.headers()), need) {
        Ok(p) => {
            let mut req = req;
            req.extensions_mut().insert(p);
            next.run(req).await
        }
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}

pub async fn viewer(State(s): State<AppState>, req: Request, next: Next) -> Response {
    require(&s, Role::Viewer, req, next).await
}

pub async fn dispatcher(State(s): State<AppState>, req: Request, next: Next) -> Response {
    require(&s, Role::Dispatcher, req, next).await
}

pub async fn admin(State(s): State<AppState>, req: Request, next: Next) -> Response {
    require(&s, Role::Admin, req, next).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(role: &str, token: &str) -> TokenConfig {
        TokenConfig {
            name: format!("{role} test"),
            role: role.into(),
            token: token.into(),
        }
    }

    #[test]
    fn tokens_from_config_and_environment_with_their_roles() {
        let t = Tokens::new(
            &[cfg("viewer", "crew-token-1")],
            Some(" admin:root-token-9 , dispatcher:desk-token-2"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.check("crew-token-1").map(|p| p.role), Some(Role::Viewer));
        assert_eq!(t.check("root-token-9").map(|p| p.role), Some(Role::Admin));
        assert_eq!(
            t.check("desk-token-2").map(|p| p.role),
            Some(Role::Dispatcher)
        );
        assert!(t.authorize(Some("desk-token-2"), Role::Dispatcher).is_ok());
        assert_eq!(
            t.authorize(Some("crew-token-1"), Role::Dispatcher)
                .map_err(|e| e.code),
            Err("forbidden")
        );
        assert_eq!(
            t.authorize(None, Role::Viewer).map_err(|e| e.code),
            Err("unauthorized")
        );
        assert_eq!(
            t.authorize(Some("x"), Role::Viewer).map_err(|e| e.code),
            Err("unauthorized")
        );
    }

    #[test]
    fn bad_environment_tokens_are_refused_with_the_item() {
        for (env, needle) in [
            ("viewer", "item 1 is not ROLE:TOKEN"),
            ("pilot:abcdefgh1", "unknown role `pilot`"),
            (
                "viewer:abcdefgh1,admin:short",
                "item 2: a token must be at least 8",
            ),
        ] {
            let e = Tokens::new(&[], Some(env)).err().unwrap_or_default();
            assert!(e.contains(needle), "{env}: {e}");
        }
    }
}
