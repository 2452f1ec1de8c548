//! A form field as the console's staff, catalog and settings pages draw it: its
//! id, what was typed, and the refusal tied to it.

use super::console_page::FormProblem;

/// One field of one form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// `{form}-{name}`: the input's id, and its error's id with `-error`.
    pub id: String,
    /// What was typed, shown again after a refusal; else `preset`.
    pub value: String,
    pub error: Option<String>,
}

/// Field `name` of `form`, given the page's refusal; `preset` is its value when
/// the refusal is not about this form.
pub fn field(problem: Option<&FormProblem>, form: &str, name: &str, preset: &str) -> Field {
    let ours = problem.filter(|problem| problem.form == form);
    Field {
        id: format!("{form}-{name}"),
        value: match ours {
            Some(problem) => problem.typed(form, name).to_owned(),
            None => preset.to_owned(),
        },
        error: ours.and_then(|problem| problem.at(form, name)).map(str::to_owned),
    }
}

/// The refusal of `form` as a whole.
pub fn form_error(problem: Option<&FormProblem>, form: &str) -> Option<String> {
    problem
        .and_then(|problem| problem.of_form(form))
        .map(str::to_owned)
}

/// Where an error summary's link leads: the field (or form) at fault.
pub fn problem_anchor(problem: Option<&FormProblem>) -> String {
    problem.map_or_else(String::new, |problem| match problem.field {
        Some(field) => format!("{}-{field}", problem.form),
        None => problem.form.clone(),
    })
}
