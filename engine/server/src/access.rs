//! Tenancy: what a principal may see and do in an institution. Every route
//! that names an institution or a plan goes through [`institution`] or
//! [`plan`] first; what the caller may not see is answered exactly as what
//! does not exist (the same 404, word for word).
//!
//! Who reaches an institution:
//! - an administrator of the install reads every institution (and writes
//!   a plan only through a role held there);
//! - an agency user reads every institution of the jurisdictions it
//!   supervises and writes none;
//! - a member (any role of the institution's workflow, a consultant's
//!   included) reads it and acts in the roles held.

use std::sync::Arc;

use integritas_core::projection::Plan;
use integritas_core::store::Institution;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};

/// How a principal reaches an institution it may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub admin: bool,
    /// Supervises the institution's jurisdiction (read-only).
    pub agency: bool,
    /// Roles held in the institution.
    pub roles: Vec<String>,
}

impl Reach {
    pub fn of(state: &AppState, principal: &Principal, institution: &Institution) -> Option<Reach> {
        let user = &principal.user;
        let reach = Reach {
            admin: user.admin,
            agency: user.agency.contains(&institution.jurisdiction),
            roles: state.accounts.roles_in(&user.id, &institution.id),
        };
        (reach.admin || reach.agency || !reach.roles.is_empty()).then_some(reach)
    }

    /// The role to act in: the one asked for if held, or the only one held.
    /// An agency never writes; holding no role here is a 403.
    pub fn acting_role(&self, asked: Option<&str>, institution: &str) -> ApiResult<String> {
        if self.roles.is_empty() {
            let why = if self.agency {
                "a supervising agency reads this institution's plans but never writes them"
            } else {
                "you hold no role in this institution, so you cannot act on its plans"
            };
            return Err(ApiError::forbidden(format!("{why} ({institution})"), Vec::new()));
        }
        match asked {
            Some(role) if self.roles.iter().any(|r| r == role) => Ok(role.to_string()),
            Some(role) => Err(ApiError::forbidden(
                format!("you do not hold the role `{role}` in {institution}; you hold: {}", self.roles.join(", ")),
                vec![role.to_string()],
            )),
            None if self.roles.len() == 1 => Ok(self.roles[0].clone()),
            None => Err(ApiError::invalid(
                "as",
                format!("you hold several roles here ({}); say which one you act in (`as`)", self.roles.join(", ")),
            )),
        }
    }
}

/// The same 404 as for an institution that does not exist.
fn no_institution(id: &str) -> ApiError {
    ApiError::NotFound { kind: "institution", id: id.into() }
}

/// The same 404 as for a plan that does not exist.
fn no_plan(id: &str) -> ApiError {
    ApiError::NotFound { kind: "plan", id: id.into() }
}

/// An institution the principal may read, and how it reaches it.
pub async fn institution(state: &AppState, principal: &Principal, id: &str) -> ApiResult<(Institution, Reach)> {
    let institution = find_institution(state, id).await?.ok_or_else(|| no_institution(id))?;
    let reach = Reach::of(state, principal, &institution).ok_or_else(|| no_institution(id))?;
    Ok((institution, reach))
}

/// A plan the principal may read, its institution, and the reach.
pub async fn plan(state: &AppState, principal: &Principal, id: &str) -> ApiResult<(Arc<Plan>, Institution, Reach)> {
    // A plan in the engine's cache is read without leaving the runtime; else it is replayed on a blocking thread.
    let plan = match state.engine.cached_plan(id) {
        Some(plan) => Some(plan),
        None => {
            let engine = state.engine.clone();
            let key = id.to_string();
            blocking(move || match engine.plan(&key) {
                Ok(plan) => Ok(Some(plan)),
                Err(integritas_core::error::EngineError::NotFound(_)) => Ok(None),
                Err(e) => Err(e.into()),
            })
            .await?
        }
    };
    let plan = plan.ok_or_else(|| no_plan(id))?;
    let institution = find_institution(state, &plan.meta.institution).await?.ok_or_else(|| no_plan(id))?;
    let reach = Reach::of(state, principal, &institution).ok_or_else(|| no_plan(id))?;
    Ok((plan, institution, reach))
}

/// An institution by id: from the server's copy, else from the store.
pub async fn find_institution(state: &AppState, id: &str) -> ApiResult<Option<Institution>> {
    if let Some(institution) = state.cached_institution(id) {
        return Ok(Some(institution));
    }
    let engine = state.engine.clone();
    let key = id.to_string();
    let found = blocking(move || match engine.institution(&key) {
        Ok(i) => Ok(Some(i)),
        Err(integritas_core::error::EngineError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    })
    .await?;
    if let Some(institution) = &found {
        state.keep_institution(institution.clone());
    }
    Ok(found)
}

/// Only an administrator of the install.
pub fn admin(principal: &Principal) -> ApiResult<()> {
    if principal.user.admin {
        Ok(())
    } else {
        Err(ApiError::forbidden("only an administrator of the install may do this", vec!["admin".into()]))
    }
}
