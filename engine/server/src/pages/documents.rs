//! A plan's documents: every decision and report its workflow defines,
//! with where each stands — delivered (the events that produced it, in the
//! plan's history), a draft (its forms hold data but no event produced it
//! yet: printed marked as a draft), or empty (nothing to print: never an
//! empty shell) — a preview, and downloads as HTML and PDF.
//!
//! A document's forms are those the events that render it fill (read from
//! the workflow's transitions), so nothing here names a document.

use integritas_core::page::PageSetup;
use integritas_core::render::DRAFT_CLASS;
use std::collections::BTreeSet;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use integritas_core::definition::{Action, Workflow};
use integritas_core::pack::Pack;
use integritas_core::projection::Plan;
use serde_json::{Value, json};

use super::register::{download, label, plan_nav, query_pairs, with_plan};
use super::{Fail, PageError, PageUser, pack_labels, pack_language, render, render_status, word};
use crate::state::{AppState, blocking};

pub const TEMPLATES: [(&str, &str); 1] = [("documents", include_str!("../../../../templates/pages/documents.hbs"))];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plans/{id}/documents", get(documents_page))
        .route("/plans/{id}/documents/{document}/view", get(view))
        .route("/plans/{id}/documents/{document}/html", get(html))
        .route("/plans/{id}/documents/{document}/pdf", get(pdf))
}

/// Where a document stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Produced by these events: (event number, date).
    Delivered(Vec<(u64, integritas_core::date::Date)>),
    /// Not produced yet, but its forms hold data: printed as a draft.
    Draft,
    /// Nothing of it is filled in: not printed.
    Empty,
}

/// The forms a document is made from: those filled by the events whose
/// transitions render it.
pub fn document_forms(workflow: &Workflow, document: &str) -> BTreeSet<String> {
    workflow
        .def()
        .transitions
        .iter()
        .filter(|t| t.actions.iter().any(|a| matches!(a, Action::Render(d) if d == document)))
        .filter_map(|t| workflow.event(&t.on))
        .flat_map(|e| e.fills.iter().cloned())
        .collect()
}

fn filled(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Object(map)) => map.values().any(|v| filled(Some(v))),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(_) => true,
    }
}

/// Where `document` stands in the plan.
pub fn standing(plan: &Plan, workflow: &Workflow, document: &str) -> Standing {
    let delivered: Vec<(u64, integritas_core::date::Date)> =
        plan.documents.iter().filter(|d| d.id == document).map(|d| (d.seq, d.date)).collect();
    if !delivered.is_empty() {
        return Standing::Delivered(delivered);
    }
    if document_forms(workflow, document).iter().any(|f| filled(plan.data.get(f))) {
        Standing::Draft
    } else {
        Standing::Empty
    }
}

/// The title of a document in a language of its pack.
fn title(pack: &Pack, document: &str, language: &str) -> String {
    let decl = pack.manifest.documents.iter().find(|d| d.id == document);
    decl.and_then(|d| d.title.get(language).or_else(|| d.title.get(pack.source_language())))
        .cloned()
        .unwrap_or_else(|| label(&pack.labels(language), &format!("document.{document}"), document))
}

/// The language a document is printed in: `?language=` when the pack has
/// it, else the pack's nearest to the page's.
fn document_language(pack: &Pack, lang: &str, pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == "language")
        .map(|(_, v)| v.clone())
        .filter(|v| pack.manifest.languages.contains(v))
        .unwrap_or_else(|| pack_language(pack, lang))
}

/// The documents the plan's event `seq` issued, each linked as the copy
/// that event issued (for the plan's history), in the page's language or
/// the pack's nearest.
pub fn issued_links(plan: &Plan, pack: &Pack, lang: &str, seq: u64) -> Vec<Value> {
    let language = document_language(pack, lang, &[]);
    let base = format!("/plans/{}/documents", plan.meta.id);
    plan.documents
        .iter()
        .filter(|d| d.seq == seq)
        .map(|d| {
            let copy = format!("?language={language}&delivery={seq}");
            json!({
                "id": d.id,
                "title": title(pack, &d.id, &language),
                "view": format!("{base}/{}/view{copy}", d.id),
                "pdf": format!("{base}/{}/pdf{copy}", d.id),
            })
        })
        .collect()
}

pub fn documents_context(
    plan: &Plan,
    workflow: &Workflow,
    pack: &Pack,
    lang: &str,
    pairs: &[(String, String)],
) -> Value {
    let labels = pack_labels(pack, lang);
    let language = document_language(pack, lang, pairs);
    let base = format!("/plans/{}/documents", plan.meta.id);
    let event_title = |seq: u64| {
        plan.happened
            .iter()
            .find(|h| h.seq == seq)
            .map(|h| label(&labels, &format!("event.{}", h.event), &h.event))
            .unwrap_or_default()
    };
    let documents: Vec<Value> = workflow
        .def()
        .documents
        .iter()
        .map(|doc| {
            let standing = standing(plan, workflow, doc);
            let query = format!("?language={language}");
            let (kind, deliveries) = match &standing {
                Standing::Delivered(list) => (
                    "delivered",
                    list.iter()
                        .map(|(seq, date)| {
                            let copy = format!("{query}&delivery={seq}");
                            json!({
                                "seq": seq,
                                "date": date.to_string(),
                                "event": event_title(*seq),
                                "view": format!("{base}/{doc}/view{copy}"),
                                "html": format!("{base}/{doc}/html{copy}"),
                                "pdf": format!("{base}/{doc}/pdf{copy}"),
                            })
                        })
                        .collect(),
                ),
                Standing::Draft => ("draft", Vec::new()),
                Standing::Empty => ("empty", Vec::new()),
            };
            json!({
                "id": doc,
                "title": title(pack, doc, &language),
                "standing": kind,
                "delivered": kind == "delivered",
                "draft": kind == "draft",
                "empty": kind == "empty",
                "deliveries": deliveries,
                "view": format!("{base}/{doc}/view{query}"),
                "html": format!("{base}/{doc}/html{query}"),
                "pdf": format!("{base}/{doc}/pdf{query}"),
            })
        })
        .collect();
    json!({
        "title": word(lang, "documents.title"),
        "nav": plan_nav(&plan.meta.id, lang, "documents"),
        "action": base,
        "languages": pack.manifest.languages.iter().map(|l| json!({"code": l, "selected": *l == language})).collect::<Vec<_>>(),
        "documents": documents,
    })
}

async fn documents_page(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let pairs = query_pairs(query.as_deref());
    let lang = user.lang;
    let context = with_plan(&state, &user, &id, move |plan, workflow, pack, _| {
        documents_context(plan, workflow, pack, lang, &pairs)
    })
    .await?;
    Ok(render(&user, "documents", context))
}

/// Content-Security-Policy of a rendered document: its own inline styles, nothing else.
const DOCUMENT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

/// Marks a draft as such at the top of its page (and in its title).
pub fn mark_draft(html: &str, words: &str) -> String {
    let banner = format!(
        "<p class=\"draft-mark\" role=\"note\" style=\"border:3px solid #a4161a;color:#a4161a;font-weight:700;\
         padding:.4rem .8rem;margin:0 0 1rem;text-transform:uppercase\">{}</p>",
        handlebars::html_escape(words)
    );
    let mut out = html.to_string();
    match out.find("<body").and_then(|at| out[at..].find('>').map(|end| at + end + 1)) {
        Some(at) => out.insert_str(at, &banner),
        None => out.insert_str(0, &banner),
    }
    if let Some(at) = out.find("<title>") {
        out.insert_str(at + "<title>".len(), &format!("{} — ", handlebars::html_escape(words)));
    }
    out
}

/// A rendered document and the name its downloads take.
struct Rendered {
    html: String,
    /// `{plan}-{document}[-{delivery}]-{language}`.
    name: String,
    page: PageSetup,
}

/// The copy of a document that the event numbered `delivery` issued, as
/// the plan's history and the documents page link it; 404 when that event
/// issued no such document.
async fn issued_copy(
    state: &AppState,
    user: &PageUser,
    (id, document, delivery): (&str, &str, &str),
    pairs: &[(String, String)],
) -> Result<Rendered, Response> {
    let not_found = || user.fail(Fail::NotFound).into_response();
    let seq: u64 = delivery.parse().map_err(|_| not_found())?;
    let lang = user.lang;
    let pairs = pairs.to_vec();
    let language = with_plan(state, user, id, move |_, _, pack, _| document_language(pack, lang, &pairs))
        .await
        .map_err(IntoResponse::into_response)?;
    let engine = state.engine.clone();
    let (plan_id, doc, language_for) = (id.to_string(), document.to_string(), language.clone());
    let rendered = blocking(move || Ok(engine.render_issued(&plan_id, &doc, seq, Some(&language_for))?))
        .await
        .map_err(|e| user.api(e).into_response())?;
    Ok(Rendered { html: rendered.html, name: format!("{id}-{document}-{seq}-{language}"), page: rendered.page })
}

/// A rendered document (marked when a draft; the copy an event issued
/// when the query names its `delivery`), or the page that says why there
/// is none (404, or 409 when nothing is filled in).
async fn rendered(
    state: &AppState,
    user: &PageUser,
    id: &str,
    document: &str,
    query: Option<&str>,
) -> Result<Rendered, Response> {
    let pairs = query_pairs(query);
    if let Some((_, delivery)) = pairs.iter().find(|(k, _)| k == "delivery") {
        return issued_copy(state, user, (id, document, delivery), &pairs).await;
    }
    let lang = user.lang;
    let doc = document.to_string();
    let (standing, language, known) = with_plan(state, user, id, move |plan, workflow, pack, _| {
        let known = workflow.def().documents.contains(&doc);
        (standing(plan, workflow, &doc), document_language(pack, lang, &pairs), known)
    })
    .await
    .map_err(IntoResponse::into_response)?;
    if !known {
        return Err(user.fail(Fail::NotFound).into_response());
    }
    if standing == Standing::Empty {
        let context = json!({
            "title": word(lang, "documents.empty_title"),
            "status": 409,
            "heading": word(lang, "documents.empty_title"),
            "detail": word(lang, "documents.empty_detail"),
        });
        return Err(render_status(&user.chrome(), StatusCode::CONFLICT, "error", context));
    }
    let (_, institution, _) = super::plan(state, user, id).await.map_err(IntoResponse::into_response)?;
    let engine = state.engine.clone();
    let (plan_id, doc, language_for) = (id.to_string(), document.to_string(), language.clone());
    let rendered = blocking(move || {
        let today = crate::api::plans::today_for(&engine, &institution)?;
        Ok(engine.render_document(&plan_id, &doc, Some(&language_for), today)?)
    })
    .await
    .map_err(|e| user.api(e).into_response())?;
    // The engine marks a draft in the document's language; a page marks one it did not.
    let html = if standing == Standing::Draft && !rendered.html.contains(&format!("class=\"{DRAFT_CLASS}\"")) {
        mark_draft(&rendered.html, &word(lang, "documents.draft_mark"))
    } else {
        rendered.html
    };
    Ok(Rendered { html, name: format!("{id}-{document}-{language}"), page: rendered.page })
}

fn html_page(html: String) -> Response {
    let mut response = html.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCUMENT_CSP));
    response
}

/// The document itself, to read in the browser (the preview).
async fn view(
    State(state): State<AppState>,
    user: PageUser,
    Path((id, document)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, Response> {
    let document = rendered(&state, &user, &id, &document, query.as_deref()).await?;
    Ok(html_page(document.html))
}

/// The document as an HTML file to keep.
async fn html(
    State(state): State<AppState>,
    user: PageUser,
    Path((id, document)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, Response> {
    let document = rendered(&state, &user, &id, &document, query.as_deref()).await?;
    let mut response = download("text/html; charset=utf-8", &format!("{}.html", document.name), document.html);
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCUMENT_CSP));
    Ok(response)
}

/// Typesets a rendered document as PDF on the pack's paper, in process
/// (`integritas-pdf`, fonts embedded); `None` when it cannot be typeset.
fn typeset(html: &str, page: &PageSetup) -> Option<Vec<u8>> {
    match integritas_pdf::pdf(html, page) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            tracing::warn!("a document could not be typeset as PDF: {e}");
            None
        }
    }
}

/// The document as a PDF file.
async fn pdf(
    State(state): State<AppState>,
    user: PageUser,
    Path((id, document)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, Response> {
    let Rendered { html, name, page } = rendered(&state, &user, &id, &document, query.as_deref()).await?;
    match blocking(move || Ok(typeset(&html, &page))).await.map_err(|e| user.api(e).into_response())? {
        Some(bytes) => Ok(download("application/pdf", &format!("{name}.pdf"), bytes)),
        None => {
            let context = json!({
                "title": word(user.lang, "documents.pdf_unavailable"),
                "status": 500,
                "heading": word(user.lang, "documents.pdf_unavailable"),
                "detail": word(user.lang, "documents.pdf_unavailable_detail"),
            });
            Ok(render_status(&user.chrome(), StatusCode::INTERNAL_SERVER_ERROR, "error", context))
        }
    }
}
