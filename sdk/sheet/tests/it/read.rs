//! Files as spreadsheet programs write them, and files no one should read.

use filiera_sheet::table::read;
use filiera_sheet::{CELL_BYTES_MAX, SHEET_BYTES_MAX, SHEET_ROWS_MAX, SheetError};
use rust_xlsxwriter::Workbook;

#[test]
fn an_xlsx_with_numbers_where_a_person_typed_digits_reads_as_typed() -> anyhow::Result<()> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "GTIN")?;
    sheet.write_string(0, 1, "Lotto")?;
    sheet.write_string(0, 2, "Quantità")?;
    // Excel keeps a GTIN typed into a plain cell as a number, without its
    // leading zero; a quantity as a float.
    sheet.write_number(1, 0, 8_012_345_000_012.0)?;
    sheet.write_string(1, 1, "CU-2026-020")?;
    sheet.write_number(1, 2, 40.0)?;
    sheet.write_number(3, 0, 8_012_345_000_012.0)?;
    sheet.write_number(3, 1, 2026.0)?;
    sheet.write_number(3, 2, 2.5)?;
    let table = read(&workbook.save_to_buffer()?)?;
    assert_eq!(table.header, vec!["GTIN", "Lotto", "Quantità"]);
    assert_eq!(
        table.rows,
        vec![
            (
                2,
                vec!["8012345000012".into(), "CU-2026-020".into(), "40".into()]
            ),
            (4, vec!["8012345000012".into(), "2026".into(), "2.5".into()]),
        ],
        "row numbers as the spreadsheet shows them; the blank row 3 is skipped"
    );
    Ok(())
}

#[test]
fn csv_in_windows_1252_with_a_byte_order_mark_or_tabs_is_read() -> anyhow::Result<()> {
    // "nota" then "maturità" in Windows-1252 (à is 0xE0), `;`-separated.
    let table = read(b"gtin;nota\n08012345000012;maturit\xE0 \x80\n")?;
    assert_eq!(table.rows[0].1[1], "maturità €");
    let table = read(b"\xEF\xBB\xBFgtin,lot\n1,2\n")?;
    assert_eq!(table.header, vec!["gtin", "lot"]);
    let table = read(b"gtin\tlot\n1\t2\n")?;
    assert_eq!(table.rows[0].1, vec!["1", "2"]);
    Ok(())
}

#[test]
fn files_past_the_limits_are_refused_whole_and_named() {
    let big = vec![b'a'; SHEET_BYTES_MAX + 1];
    assert!(matches!(read(&big), Err(SheetError::TooLarge { .. })));

    let mut rows = String::from("gtin,lot\n");
    for i in 0..=SHEET_ROWS_MAX {
        rows.push_str(&format!("08012345000012,L{i}\n"));
    }
    assert!(matches!(
        read(rows.as_bytes()),
        Err(SheetError::TooManyRows)
    ));

    let long = format!("gtin,note\n1,ok\n2,{}\n", "x".repeat(CELL_BYTES_MAX + 1));
    assert!(matches!(
        read(long.as_bytes()),
        Err(SheetError::CellTooLong { row: 3 })
    ));

    assert!(matches!(read(b"gtin,lot\n"), Err(SheetError::Empty)));
    assert!(matches!(
        read(b"PK\x03\x04 not a workbook"),
        Err(SheetError::Unreadable(_))
    ));
}

/// An XLSX whose used range claims the whole grid (a cell at A1 and one at
/// XFD1048576: 17 billion cells as a rectangle) is refused when its far
/// row is reached, without the rectangle ever being allocated; columns past
/// the bound are left out; an overlong cell is named by its row.
#[test]
fn an_xlsx_claiming_the_whole_grid_is_refused_without_allocating_it() {
    let book = |cells: &[(u32, u16, &str)]| {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        for (row, column, text) in cells {
            sheet.write_string(*row, *column, *text).unwrap();
        }
        workbook.save_to_buffer().unwrap()
    };
    let grid = book(&[(0, 0, "gtin"), (1, 0, "1"), (1_048_575, 16_383, "x")]);
    assert!(matches!(read(&grid), Err(SheetError::TooManyRows)));

    let wide = book(&[(0, 0, "gtin"), (0, 1, "lot"), (1, 0, "1"), (1, 500, "far")]);
    let rows = read(&wide).unwrap();
    assert_eq!(rows.header, ["gtin", "lot"]);
    assert_eq!(rows.rows, vec![(2, vec!["1".to_string()])]);

    let long = "x".repeat(CELL_BYTES_MAX + 1);
    let overlong = book(&[(0, 0, "gtin"), (3, 0, &long)]);
    assert!(matches!(
        read(&overlong),
        Err(SheetError::CellTooLong { row: 4 })
    ));
}
