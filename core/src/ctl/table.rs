//! etcdctl's `-w table` (olekukonko/tablewriter as etcdctl configures it): upper-case
//! headers centred, cells right-aligned, one space of padding, `+---+` borders.

/// Renders `rows` under `header`.
pub(crate) fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let header: Vec<String> = header.iter().map(|h| h.to_uppercase()).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let border: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(w + 2)))
        .collect::<String>()
        + "+\n";
    let line = |cells: Vec<String>| -> String {
        cells.iter().map(|c| format!("| {c} ")).collect::<String>() + "|\n"
    };
    let mut out = border.clone();
    out += &line(
        header
            .iter()
            .zip(&widths)
            .map(|(h, w)| {
                let gap = w - h.chars().count();
                let left = gap / 2;
                format!("{}{h}{}", " ".repeat(left), " ".repeat(gap - left))
            })
            .collect(),
    );
    out += &border;
    for r in rows {
        out += &line(
            r.iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:>w$}", w = *w))
                .collect(),
        );
    }
    out += &border;
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_etcdctl_member_list() {
        let rows = vec![vec![
            "bdae9bbc11dd390d".to_owned(),
            "started".to_owned(),
            "n1".to_owned(),
            "true".to_owned(),
        ]];
        let t = super::render(&["ID", "Status", "Name", "Is Learner"], &rows);
        assert_eq!(
            t,
            "\
+------------------+---------+------+------------+
|        ID        | STATUS  | NAME | IS LEARNER |
+------------------+---------+------+------------+
| bdae9bbc11dd390d | started |   n1 |       true |
+------------------+---------+------+------------+
"
        );
    }
}
