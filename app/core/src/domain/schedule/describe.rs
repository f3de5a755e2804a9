//! A cron expression in plain words (`CronExpr::describe`): "Every 15 minutes",
//! "At 09:30, on Monday through Friday".

use super::CronExpr;

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAY_NAMES: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

impl CronExpr {
    /// The expression in plain words, e.g. "At 09:30, on Monday through Friday".
    pub fn describe(&self) -> String {
        let minutes = self.minute.values(0, 59);
        let hours = self.hour.values(0, 23);
        let time = match (minutes.as_slice(), hours.len()) {
            (m, 24) if m.len() == 60 => "Every minute".to_owned(),
            (m, 24) if m.len() > 1 && is_step(m, 0, 59) => format!("Every {} minutes", m[1] - m[0]),
            ([m], 24) => format!("At minute {m} of every hour"),
            (m, 24) => format!("At minutes {} of every hour", list(m, |v| v.to_string())),
            ([m], _) => format!("At {}", list(&hours, |h| format!("{h:02}:{m:02}"))),
            (m, _) if m.len() == 60 => format!("Every minute during hour {}", list(&hours, |h| format!("{h:02}"))),
            (m, _) => {
                format!("At minutes {} past hour {}", list(m, |v| v.to_string()), list(&hours, |h| format!("{h:02}")))
            }
        };
        let dom = ranges(&self.dom.values(1, 31), |v| v.to_string());
        let dow = ranges(&self.dow.values(0, 6), |v| DAY_NAMES[v as usize].to_owned());
        let day = match (self.dom.restricted, self.dow.restricted) {
            (true, true) => format!(", on day {dom} of the month and on every {dow}"),
            (true, false) => format!(", on day {dom} of the month"),
            (false, true) => format!(", on {dow}"),
            (false, false) => String::new(),
        };
        let month = if self.month.values(1, 12).len() == 12 {
            String::new()
        } else {
            format!(", in {}", ranges(&self.month.values(1, 12), |v| MONTH_NAMES[v as usize - 1].to_owned()))
        };
        format!("{time}{day}{month}")
    }
}

fn is_step(values: &[u32], min: u32, max: u32) -> bool {
    let step = values[1] - values[0];
    values[0] == min && values.windows(2).all(|w| w[1] - w[0] == step) && values[values.len() - 1] + step > max
}

fn list(values: &[u32], show: impl Fn(u32) -> String) -> String {
    let shown: Vec<String> = values.iter().map(|v| show(*v)).collect();
    match shown.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// "Monday through Friday", "1, 15 and 20 through 25".
fn ranges(values: &[u32], show: impl Fn(u32) -> String) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        parts.push(if j - i >= 2 {
            format!("{} through {}", show(values[i]), show(values[j]))
        } else if j > i {
            format!("{} and {}", show(values[i]), show(values[j]))
        } else {
            show(values[i])
        });
        i = j + 1;
    }
    match parts.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
