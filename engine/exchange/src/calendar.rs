//! A plan's deadlines as an iCalendar feed (RFC 5545) a calendar app can
//! subscribe to: one all-day event per occurrence of a deadline, with a
//! UID that stays the same from one download to the next, so that an app
//! updates its events instead of adding new ones.
//!
//! Written by hand: the format is small, and what matters is done here
//! and tested — text escaped (`\`, `;`, `,`, line breaks), lines folded at
//! 75 octets without splitting a character, CRLF line ends.

use integritas_core::date::Date;
use integritas_core::deadline::{DueItem, Status};
use integritas_core::message::Message;

/// A feed of deadlines, from one plan or several.
#[derive(Debug, Clone)]
pub struct Calendar {
    name: String,
    /// The date the feed is made (its events' `DTSTAMP`).
    stamp: Date,
    events: Vec<String>,
}

impl Calendar {
    /// An empty feed called `name` (a calendar app shows it as the calendar's name).
    pub fn new(name: &str, stamp: Date) -> Calendar {
        Calendar { name: name.to_string(), stamp, events: Vec::new() }
    }

    /// Adds a plan's deadline occurrences. `translate` gives labels and the
    /// engine's sentences in the feed's language (a pack's translator):
    /// `deadline.<id>` for what is due, `role.<who>` for who acts,
    /// `deadline.overdue` and the like for the status.
    pub fn add_plan(&mut self, plan: &str, items: &[DueItem], translate: &dyn Fn(&str) -> Option<String>) {
        for item in items {
            let (base, row) = match item.deadline.split_once(':') {
                Some((base, row)) => (base, Some(row)),
                None => (item.deadline.as_str(), None),
            };
            let what = match (translate(&format!("deadline.{base}")), row) {
                (Some(label), Some(row)) => format!("{label} ({row})"),
                (Some(label), None) => label,
                (None, _) => item.what.clone(),
            };
            let who = translate(&format!("role.{}", item.who)).unwrap_or_else(|| item.who.clone());
            let (category, status) = match item.status {
                Status::Upcoming { days_left: 0 } => ("upcoming", Message::new("deadline.due_today")),
                Status::Upcoming { days_left } => {
                    ("upcoming", Message::new("deadline.upcoming").arg("days", days_left))
                }
                Status::Overdue { days_late } => ("overdue", Message::new("deadline.overdue").arg("days", days_late)),
                Status::Met { on, late: false } => ("met", Message::new("deadline.met").arg("date", on)),
                Status::Met { on, late: true } => ("met", Message::new("deadline.met_late").arg("date", on)),
            };
            let status = status.render(translate);
            let mut description = format!("{what}\n{who}\n{status}");
            if !item.basis.is_empty() {
                description.push('\n');
                description.push_str(&item.basis);
            }
            let lines = [
                "BEGIN:VEVENT".to_string(),
                format!("UID:{}", uid(plan, &item.deadline, item.due)),
                format!("DTSTAMP:{}T000000Z", compact(self.stamp)),
                format!("DTSTART;VALUE=DATE:{}", compact(item.due)),
                format!("DTEND;VALUE=DATE:{}", compact(item.due.add_days(1))),
                // No status in the summary: "due in 12 days" would change the
                // event every day; the status is in the description and the category.
                format!("SUMMARY:{}", text(&format!("{what} — {who}"))),
                format!("DESCRIPTION:{}", text(&description)),
                format!("CATEGORIES:{category}"),
                "TRANSP:TRANSPARENT".to_string(),
                "END:VEVENT".to_string(),
            ];
            self.events.extend(lines);
        }
    }

    /// The feed as the bytes of a `.ics` file (`text/calendar; charset=utf-8`).
    pub fn to_ics(&self) -> String {
        let head = [
            "BEGIN:VCALENDAR".to_string(),
            "VERSION:2.0".to_string(),
            "PRODID:-//integritas//plan deadlines//EN".to_string(),
            "CALSCALE:GREGORIAN".to_string(),
            "METHOD:PUBLISH".to_string(),
            format!("X-WR-CALNAME:{}", text(&self.name)),
        ];
        let mut out = String::new();
        for line in head.iter().chain(&self.events).chain(std::iter::once(&"END:VCALENDAR".to_string())) {
            out.push_str(&fold(line));
        }
        out
    }
}

/// A UID that names the occurrence: the plan, the deadline (with its row)
/// and its due date; only characters every app keeps.
fn uid(plan: &str, deadline: &str, due: Date) -> String {
    let safe = |s: &str| -> String {
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' }).collect()
    };
    format!("{}-{}-{}@integritas", safe(plan), safe(deadline), compact(due))
}

/// `YYYYMMDD`.
fn compact(date: Date) -> String {
    format!("{:04}{:02}{:02}", date.year(), date.month(), date.day())
}

/// A TEXT value escaped (RFC 5545 §3.3.11).
pub fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let value = value.replace("\r\n", "\n").replace('\r', "\n");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A content line folded at 75 octets (RFC 5545 §3.1): CRLF and a space
/// before each continuation, never inside a UTF-8 character.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_lines_folded_at_75_octets() {
        assert_eq!(text("a,b;c\\d\ne\r\nf\u{7}"), "a\\,b\\;c\\\\d\\ne\\nf");
        let long = format!("SUMMARY:{}", "Ș".repeat(60));
        let folded = fold(&long);
        assert!(folded.ends_with("\r\n"));
        for line in folded.trim_end_matches("\r\n").split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        // Unfolding gives the line back.
        assert_eq!(folded.trim_end_matches("\r\n").replace("\r\n ", ""), long);
    }

    #[test]
    fn one_event_per_occurrence_with_a_stable_uid() {
        let day = |s: &str| s.parse::<Date>().expect("date");
        let items = [
            DueItem {
                deadline: "measure:M 2".into(),
                what: "Measure (M 2)".into(),
                who: "head".into(),
                due: day("2022-03-31"),
                status: Status::Overdue { days_late: 3 },
                basis: "Art. 5, pt. 2".into(),
            },
            DueItem {
                deadline: "report".into(),
                what: "Report".into(),
                who: "coordinator".into(),
                due: day("2022-12-31"),
                status: Status::Upcoming { days_left: 270 },
                basis: String::new(),
            },
        ];
        let labels = |key: &str| match key {
            "deadline.measure" => Some("Mjera".to_string()),
            "role.head" => Some("Starješina".to_string()),
            "deadline.overdue" => Some("kasni {days} dana".to_string()),
            _ => None,
        };
        let mut calendar = Calendar::new("Plan, Grad", day("2022-04-03"));
        calendar.add_plan("plan-1", &items, &labels);
        let expect = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//integritas//plan deadlines//EN",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:Plan\\, Grad",
            "BEGIN:VEVENT",
            "UID:plan-1-measure_M_2-20220331@integritas",
            "DTSTAMP:20220403T000000Z",
            "DTSTART;VALUE=DATE:20220331",
            "DTEND;VALUE=DATE:20220401",
            "SUMMARY:Mjera (M 2) — Starješina",
            "DESCRIPTION:Mjera (M 2)\\nStarješina\\nkasni 3 dana\\nArt. 5\\, pt. 2",
            "CATEGORIES:overdue",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:plan-1-report-20221231@integritas",
            "DTSTAMP:20220403T000000Z",
            "DTSTART;VALUE=DATE:20221231",
            "DTEND;VALUE=DATE:20230101",
            "SUMMARY:Report — coordinator",
            "DESCRIPTION:Report\\ncoordinator\\ndue in 270 days",
            "CATEGORIES:upcoming",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
            "END:VCALENDAR",
        ];
        let ics = calendar.to_ics();
        assert_eq!(ics.split("\r\n").collect::<Vec<_>>(), [&expect[..], &[""]].concat());
    }
}
