//! Pack administration (issue 11, item 9): the installed packs and their
//! versions with the plans on each, installing a new version from an
//! uploaded `.tar.gz` (refused whole, every problem by `file:line:column`),
//! and moving a plan to a newer installed version of its pack after a
//! preview of what the move changes.
//!
//! Who may, as in the API: the list is for administrators (every pack) and
//! supervising agencies (the packs of their jurisdictions), others get the
//! same 404 as for nothing; installing is an administrator's
//! (`access::admin`); a migration's preview is for whoever reads the plan
//! and the move for an administrator or a member with a role there (as
//! `POST /api/v1/plans/{id}/migration`).
//!
//! Architecture invariant: the work is the API's and the engine's —
//! [`crate::api::packs::install_upload`], `Engine::migration_preview`,
//! `Engine::migrate` — this module only reads forms and renders.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use integritas_core::engine::{Engine, migration_refusal};
use integritas_core::pack::{InstallError, Pack};
use integritas_core::projection::Plan;
use integritas_core::store::{Effect, Event};
use integritas_core::wire::MigrationPreviewView;
use semver::Version;
use serde_json::{Value, json};

use super::{
    CSRF_FIELD, Fail, FormBody, PageError, PagePost, PageUser, encode_component, format_date, pack_labels, render,
    render_status, see_other, translator, word, word_with,
};
use crate::access;
use crate::api::packs::install_upload;
use crate::api::plans::today_for;
use crate::auth::same_secret;
use crate::state::{AppState, blocking};

pub const TEMPLATES: [(&str, &str); 2] = [
    ("packs", include_str!("../../../../templates/pages/packs.hbs")),
    ("migration", include_str!("../../../../templates/pages/migration.hbs")),
];

/// The page of the installed packs (and where the install form sends a refusal back to).
pub const PACKS_PATH: &str = "/admin/packs";

/// Plans linked under one version on the list (the count is always whole).
const PLAN_LINKS: usize = 100;

/// Routes with the pages' body limit.
pub fn routes() -> Router<AppState> {
    Router::new().route(PACKS_PATH, get(packs_page)).route("/plans/{id}/migration", get(migration_page).post(migrate))
}

/// The install route: it takes a pack archive, so it sits with the API's
/// upload route under the same body limit (`ServerConfig::pack_limit`) and timeout.
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/admin/packs/install", post(install))
}

/// Whether the user sees pack `id` on the list: an administrator every
/// pack, an agency the packs of the jurisdictions it supervises.
fn sees(user: &PageUser, id: &str) -> bool {
    user.user.admin || user.user.agency.iter().any(|a| a == id)
}

/// The list's pack ids for this user, or the 404 of a page not theirs.
fn may_list(user: &PageUser) -> Result<(), PageError> {
    if user.user.admin || !user.user.agency.is_empty() { Ok(()) } else { Err(user.fail(Fail::NotFound)) }
}

/// What the list page says after an install, or why one was refused.
#[derive(Debug, Default)]
struct Outcome {
    installed: Option<String>,
    refused: Option<Refusal>,
}

/// Why an upload was not installed: a headline and every problem.
#[derive(Debug)]
struct Refusal {
    headline: String,
    /// `{where, code, message, hint, line}` rows.
    problems: Vec<Value>,
}

/// GET `/admin/packs`: every pack and version the user may see.
async fn packs_page(
    State(state): State<AppState>,
    user: PageUser,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    may_list(&user)?;
    let query = FormBody::parse(query.unwrap_or_default().as_bytes());
    let outcome = Outcome { installed: query.get("installed").map(str::to_string), refused: None };
    list(&state, &user, outcome, StatusCode::OK).await
}

/// The list page with what an install did.
async fn list(state: &AppState, user: &PageUser, outcome: Outcome, status: StatusCode) -> Result<Response, PageError> {
    let engine = state.engine.clone();
    let (catalog, counts, metas) =
        blocking(move || Ok((engine.catalog(), engine.plans_per_version()?, engine.plans()?)))
            .await
            .map_err(|e| user.api(e))?;
    let lang = user.lang;
    let mut by_version: HashMap<(String, String), Vec<String>> = HashMap::new();
    for meta in &metas {
        let pack = meta.workflow.split('/').next().unwrap_or_default().to_string();
        by_version.entry((pack, meta.pack_version.clone())).or_default().push(meta.id.clone());
    }
    let mut packs: Vec<&Arc<Pack>> = catalog.all().filter(|p| sees(user, p.id())).collect();
    packs.sort_by(|a, b| (a.id(), b.version()).cmp(&(b.id(), a.version())));
    let mut groups: Vec<Value> = Vec::new();
    for pack in &packs {
        let newest = catalog.pack(pack.id(), None).map(|p| p.version().clone());
        let labels = pack_labels(pack, lang);
        let key = (pack.id().to_string(), pack.version().to_string());
        let count = counts.get(&key).copied().unwrap_or(0);
        let mut plans = by_version.get(&key).cloned().unwrap_or_default();
        plans.sort();
        let newer = newest.as_ref().filter(|n| *n > pack.version());
        let plan_links: Vec<Value> = plans
            .iter()
            .take(PLAN_LINKS)
            .map(|id| {
                let href = match newer {
                    Some(to) => {
                        format!("/plans/{}/migration?to={}", encode_component(id), encode_component(&to.to_string()))
                    }
                    None => format!("/plans/{}", encode_component(id)),
                };
                json!({"id": id, "href": href})
            })
            .collect();
        let workflows: Vec<String> = pack
            .workflows
            .keys()
            .map(|w| {
                labels.map.get(&format!("workflow.{w}")).cloned().map_or_else(|| w.clone(), |t| format!("{t} ({w})"))
            })
            .collect();
        let version = json!({
            "version": pack.version().to_string(),
            "newest": newer.is_none(),
            "title": labels.get("pack.title"),
            "languages": pack.manifest.languages.join(", "),
            "workflows": workflows,
            "plans": count,
            "plans_text": word_with(lang, "packs.plans_count", &[("count", count.to_string())]),
            "plan_links": plan_links,
            "more": count.saturating_sub(PLAN_LINKS),
            "migrate_hint": newer.map(|to| word_with(lang, "packs.migrate_hint", &[("version", to.to_string())])),
            "anchor": format!("{}-{}", pack.id(), pack.version()).replace('.', "-"),
        });
        match groups.last_mut().filter(|g| g["id"] == pack.id()) {
            Some(group) => {
                if let Some(versions) = group["versions"].as_array_mut() {
                    versions.push(version);
                }
            }
            None => groups.push(json!({
                "id": pack.id(),
                "title": labels.get("pack.title"),
                "versions": [version],
            })),
        }
    }
    let context = json!({
        "title": word(lang, "packs.title"),
        "packs": groups,
        "admin": user.user.admin,
        "installed": outcome.installed.map(|v| word_with(lang, "packs.installed", &[("pack", v)])),
        "refused": outcome.refused.as_ref().map(|r| json!({"headline": r.headline, "problems": r.problems})),
        "limit_mb": state.config.pack_limit / (1024 * 1024),
    });
    Ok(render_status(&user.chrome(), status, "packs", context))
}

/// POST `/admin/packs/install` (`multipart/form-data`: `_csrf` and the
/// archive in `pack`): installs the pack, or shows the list with every
/// problem and installs nothing.
async fn install(State(state): State<AppState>, request: Request) -> Result<Response, PageError> {
    let (mut parts, body) = request.into_parts();
    let mut user = PageUser::from_request_parts(&mut parts, &state).await?;
    // A refusal is shown on the list, whose address the language switch goes back to.
    user.path = PACKS_PATH.to_string();
    may_list(&user)?;
    access::admin(&user.principal()).map_err(|e| user.api(e))?;
    let mut multipart = Multipart::from_request(Request::from_parts(parts, body), &state)
        .await
        .map_err(|_| user.fail(Fail::BadRequest))?;
    let mut csrf = String::new();
    let mut archive: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return upload_failed(&state, &user, e.status()).await,
        };
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            CSRF_FIELD => csrf = field.text().await.map_err(|_| user.fail(Fail::BadRequest))?,
            "pack" => {
                let name = field.file_name().unwrap_or("").to_string();
                match field.bytes().await {
                    Ok(bytes) => archive = Some((name, bytes.to_vec())),
                    Err(e) => return upload_failed(&state, &user, e.status()).await,
                }
            }
            _ => {}
        }
    }
    if !same_secret(&csrf, &user.csrf) {
        return Err(user.fail(Fail::Csrf));
    }
    let lang = user.lang;
    let Some((name, bytes)) = archive.filter(|(_, b)| !b.is_empty()) else {
        let refused = Refusal {
            headline: word_with(lang, "packs.upload.none", &[("format", ".tar.gz".into())]),
            problems: Vec::new(),
        };
        return list(
            &state,
            &user,
            Outcome { installed: None, refused: Some(refused) },
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let by = user.user.id.clone();
    let st = state.clone();
    let result = blocking(move || Ok(install_upload(&st, &by, &bytes))).await.map_err(|e| user.api(e))?;
    match result {
        Ok(installed) => {
            let pack = format!("{} {}", installed.id, installed.version);
            Ok(see_other(&format!(
                "{PACKS_PATH}?installed={}#{}-{}",
                encode_component(&pack),
                installed.id,
                installed.version.replace('.', "-")
            )))
        }
        Err(InstallError::Io(message)) => {
            tracing::error!("a pack upload failed on the server: {message}");
            Err(user.fail(Fail::Internal))
        }
        Err(e) => {
            let refused = refusal(lang, &name, e);
            list(&state, &user, Outcome { installed: None, refused: Some(refused) }, StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
    }
}

/// A multipart body that could not be read: too large (413) or malformed (400).
async fn upload_failed(state: &AppState, user: &PageUser, status: StatusCode) -> Result<Response, PageError> {
    if status != StatusCode::PAYLOAD_TOO_LARGE {
        return Err(user.fail(Fail::BadRequest));
    }
    let mb = (state.config.pack_limit / (1024 * 1024)).to_string();
    let refused =
        Refusal { headline: word_with(user.lang, "packs.upload.too_large", &[("mb", mb)]), problems: Vec::new() };
    list(state, user, Outcome { installed: None, refused: Some(refused) }, StatusCode::PAYLOAD_TOO_LARGE).await
}

/// An install's refusal as the page shows it: the engine's diagnostics
/// (errors) by `file:line:column` with code, message and hint; failed
/// scenarios by file; an archive that does not unpack.
fn refusal(lang: &str, file: &str, e: InstallError) -> Refusal {
    let file = if file.is_empty() { word(lang, "packs.upload.the_archive") } else { file.to_string() };
    match e {
        InstallError::Invalid(diagnostics) => {
            let problems: Vec<Value> = diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| {
                    json!({
                        "where": format!("{}:{}:{}", d.file, d.line, d.column),
                        "code": d.code,
                        "meaning": word(lang, &format!("diagnostic.{}", d.code)),
                        "element": d.element,
                        "message": d.message,
                        "hint": d.hint,
                        "line": d.source_line,
                    })
                })
                .collect();
            let count = problems.len().to_string();
            Refusal {
                headline: word_with(lang, "packs.refused.invalid", &[("file", file), ("count", count)]),
                problems,
            }
        }
        InstallError::Scenarios(reports) => {
            let problems: Vec<Value> = reports
                .iter()
                .flat_map(|r| {
                    r.failures.iter().map(move |f| json!({"where": r.file, "code": r.name, "message": f.to_string()}))
                })
                .collect();
            Refusal { headline: word_with(lang, "packs.refused.scenarios", &[("file", file)]), problems }
        }
        InstallError::Unpack(why) => Refusal {
            headline: word_with(lang, "packs.refused.unpack", &[("file", file)]),
            problems: vec![json!({"where": "", "code": "", "message": why.to_string()})],
        },
        other => Refusal {
            headline: word_with(lang, "packs.refused.other", &[("file", file)]),
            problems: vec![json!({"where": "", "code": "", "message": other.to_string()})],
        },
    }
}

// ---------------------------------------------------------- migration

/// The versions of the plan's pack newer than its own, newest first.
fn newer_versions(engine: &Engine, plan: &Plan) -> Vec<Version> {
    let pack_id = plan.meta.workflow.split('/').next().unwrap_or_default();
    let Ok(current) = Version::parse(&plan.meta.pack_version) else {
        return Vec::new();
    };
    let mut newer: Vec<Version> = engine
        .catalog()
        .all()
        .filter(|p| p.id() == pack_id && *p.version() > current)
        .map(|p| p.version().clone())
        .collect();
    newer.sort_by(|a, b| b.cmp(a));
    newer
}

/// What the plan page says about the plan's pack version: the version, a
/// link to the migration when a newer one is installed, and a
/// confirmation after a move (`?migrated=`). For `pages::home`.
pub fn plan_version(engine: &Engine, plan: &Plan, lang: &str, query: &FormBody) -> Value {
    let pack_id = plan.meta.workflow.split('/').next().unwrap_or_default();
    let newer = newer_versions(engine, plan);
    json!({
        "text": word_with(lang, "packs.plan.version", &[("pack", pack_id.to_string()), ("version", plan.meta.pack_version.clone())]),
        "newer": newer.first().map(|v| json!({
            "href": format!("/plans/{}/migration?to={}", encode_component(&plan.meta.id), encode_component(&v.to_string())),
            "text": word_with(lang, "packs.plan.newer", &[("version", v.to_string())]),
        })),
        "migrated": query.get("migrated").map(|v| word_with(lang, "packs.plan.migrated", &[("version", v.to_string())])),
    })
}

/// A plan's history line for its `@migrated` event (`None` for any other):
/// the versions it moved between and the day. For `pages::home`.
pub fn migrated_text(event: &Event, lang: &str) -> Option<String> {
    event.effects.iter().find_map(|effect| match effect {
        Effect::Migrated { from, to, .. } => Some(word_with(
            lang,
            "packs.history.migrated",
            &[("from", from.clone()), ("to", to.clone()), ("date", format_date(lang, event.date))],
        )),
        _ => None,
    })
}

/// GET `/plans/{id}/migration?to=VERSION`: what moving the plan to that
/// version changes and whether it may; without `to`, the newer versions.
async fn migration_page(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let (plan, institution, reach) = super::plan(&state, &user, &id).await?;
    let query = FormBody::parse(query.unwrap_or_default().as_bytes());
    let lang = user.lang;
    let engine = state.engine.clone();
    let pack = engine.pack_of(&plan.meta).map_err(|e| user.api(e.into()))?;
    let labels = pack_labels(&pack, lang);
    let may_move = reach.admin || !reach.roles.is_empty();
    let newer = newer_versions(&engine, &plan);
    let to = match query.get("to") {
        None => None,
        Some(text) => match Version::parse(text) {
            Ok(v) => Some(v),
            Err(_) => return Err(user.fail(Fail::BadRequest)),
        },
    };
    let choices: Vec<Value> = newer
        .iter()
        .map(|v| {
            json!({
                "href": format!("/plans/{}/migration?to={}", encode_component(&id), encode_component(&v.to_string())),
                "version": v.to_string(),
                "current": to.as_ref() == Some(v),
            })
        })
        .collect();
    let mut context = json!({
        "title": word_with(lang, "migration.title", &[("plan", id.clone())]),
        "institution": {"id": institution.id, "name": institution.name},
        "plan": {"id": id, "href": format!("/plans/{}", encode_component(&id))},
        "current": word_with(lang, "packs.plan.version", &[("pack", pack.id().to_string()), ("version", plan.meta.pack_version.clone())]),
        "choices": choices,
    });
    let Some(to) = to else {
        return Ok(render(&user, "migration", context));
    };
    let (target, preview) = {
        let engine = state.engine.clone();
        let plan_id = id.clone();
        let to2 = to.clone();
        blocking(move || {
            let preview = engine.migration_preview(&plan_id, &to2)?;
            let target = engine.catalog().pack(&preview.pack, Some(&to2)).cloned();
            Ok((target, MigrationPreviewView::from(&preview)))
        })
        .await
        .map_err(|e| user.api(e))?
    };
    let new_labels = target.as_ref().map(|p| pack_labels(p, lang));
    let translate = translator(target.as_deref().unwrap_or(&*pack), lang);
    if let Some(map) = context.as_object_mut() {
        map.insert("preview".into(), preview_context(&preview, &labels, new_labels.as_ref(), &translate, lang));
        map.insert("to".into(), Value::from(to.to_string()));
        map.insert("may_move".into(), Value::from(may_move));
    }
    Ok(render(&user, "migration", context))
}

/// The preview as the template reads it: every part of the engine's
/// preview, its kinds and classes in the page's words.
fn preview_context(
    p: &MigrationPreviewView,
    old: &integritas_core::locale::Labels,
    new: Option<&integritas_core::locale::Labels>,
    translate: &dyn Fn(&str) -> Option<String>,
    lang: &str,
) -> Value {
    let state_title = |labels: &integritas_core::locale::Labels, s: &str| {
        labels.map.get(&format!("state.{s}")).cloned().unwrap_or_else(|| s.to_string())
    };
    let event_title = |labels: &integritas_core::locale::Labels, e: &str| {
        labels.map.get(&format!("event.{e}")).cloned().unwrap_or_else(|| e.to_string())
    };
    let class = |c: &str| word(lang, &format!("migration.class.{c}"));
    let state = &p.state;
    let state_text = if state.exists {
        word_with(lang, "migration.state.kept", &[("state", state_title(old, &state.state))])
    } else {
        word_with(lang, "migration.state.missing", &[("state", state_title(old, &state.state))])
    };
    let events_after: Vec<String> = state.events_after.iter().map(|e| event_title(new.unwrap_or(old), e)).collect();
    let changes: Vec<Value> = p
        .changes
        .changes
        .iter()
        .map(|c| {
            json!({
                "path": c.path,
                "change": word(lang, &format!("migration.change.{}", c.change)),
                "class": class(c.class),
                "class_id": c.class,
                "why": word(lang, &format!("diff.rule.{}", c.rule)),
            })
        })
        .collect();
    let problems = |list: &[integritas_core::error::Problem]| -> Vec<Value> {
        list.iter().map(|pr| json!({"path": pr.path, "message": pr.render(translate)})).collect()
    };
    let scores: Vec<Value> = p
        .scores
        .iter()
        .map(|s| {
            let show = |v: &Option<Value>| match v {
                None => word(lang, "migration.score.none"),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            let errors: Vec<String> = [s.before.error.clone(), s.after.error.clone()].into_iter().flatten().collect();
            json!({
                "output": s.output,
                "changed": word_with(lang, "migration.score.changed", &[("count", s.changed.to_string()), ("all", s.values.len().to_string())]),
                "values": s.values.iter().filter(|v| v.changed).map(|v| json!({
                    "path": if v.path.is_empty() { s.output.clone() } else { v.path.clone() },
                    "before": show(&v.before),
                    "after": show(&v.after),
                })).collect::<Vec<_>>(),
                "errors": errors,
            })
        })
        .collect();
    json!({
        "summary": word_with(lang, "migration.summary", &[
            ("from", p.from.clone()), ("to", p.to.clone()), ("class", class(p.class)),
        ]),
        "counts": word_with(lang, "migration.counts", &[
            ("major", p.changes.counts.major.to_string()),
            ("minor", p.changes.counts.minor.to_string()),
            ("patch", p.changes.counts.patch.to_string()),
        ]),
        "allowed": p.allowed,
        "refusals": p.refusal_problems.iter().map(|r| migration_refusal(&p.to, r, translate)).collect::<Vec<_>>(),
        "state": state_text,
        "events_after": events_after,
        "data": problems(&p.data),
        "incomplete": problems(&p.incomplete),
        "scores": scores,
        "changes": changes,
    })
}

/// POST `/plans/{id}/migration` (`_csrf`, `to`): moves the plan, as
/// `POST /api/v1/plans/{id}/migration`; a refusal shows the preview again.
async fn migrate(State(state): State<AppState>, Path(id): Path<String>, post: PagePost) -> Result<Response, PageError> {
    let user = post.user;
    let (_, institution, reach) = super::plan(&state, &user, &id).await?;
    if !reach.admin {
        reach.acting_role(reach.roles.first().map(String::as_str), &institution.id).map_err(|e| user.api(e))?;
    }
    let Some(to) = post.form.get("to").and_then(|t| Version::parse(t).ok()) else {
        return Err(user.fail(Fail::BadRequest));
    };
    let engine = state.engine.clone();
    let actor = user.user.id.clone();
    let plan_id = id.clone();
    let to2 = to.clone();
    let moved = blocking(move || {
        let today = today_for(&engine, &institution)?;
        Ok(engine.migrate(&plan_id, &to2, &actor, today))
    })
    .await
    .map_err(|e| user.api(e))?;
    match moved {
        Ok(_) => {
            Ok(see_other(&format!("/plans/{}?migrated={}", encode_component(&id), encode_component(&to.to_string()))))
        }
        // Refused (the plan changed since the preview, say): the preview says why.
        Err(integritas_core::error::EngineError::Refused(_)) => Ok(see_other(&format!(
            "/plans/{}/migration?to={}",
            encode_component(&id),
            encode_component(&to.to_string())
        ))),
        Err(e) => Err(user.api(e.into())),
    }
}
