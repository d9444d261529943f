/// The status pages' stylesheet, inlined in each page (the pages load nothing else).
enum StatusPageStyle {
    static let css = """
    :root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa; --card: #ffffff;
            --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --info: #0969da; --mono: ui-monospace, "SF Mono", "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, monospace; }
    * { box-sizing: border-box; }
    html { background: var(--bg); }
    body { margin: 0; color: var(--fg); font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
    a { color: var(--info); text-decoration: none; }
    a:hover { text-decoration: underline; }
    header.top { background: #24292f; color: #f0f3f6; }
    header.top .bar { max-width: 1240px; margin: 0 auto; padding: 12px 28px; display: flex; align-items: center; gap: 14px; flex-wrap: wrap; }
    header.top a.brand { color: #ffffff; display: flex; align-items: center; gap: 10px; font-size: 18px; font-weight: 600; }
    header.top .meta { color: #b7bdc8; font-size: 13px; margin-left: auto; display: flex; gap: 18px; flex-wrap: wrap; }
    header.top .meta code { color: #e6edf3; }
    main { max-width: 1240px; margin: 0 auto; padding: 22px 28px 36px; }
    h2 { font-size: 16px; margin: 26px 0 10px; display: flex; align-items: baseline; gap: 10px; }
    h2 .sub { color: var(--muted); font-weight: 400; font-size: 13px; }
    code, .mono { font-family: var(--mono); font-size: 0.93em; }
    .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
    .tile { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
    .tile .n { font-size: 24px; font-weight: 600; font-variant-numeric: tabular-nums; }
    .tile .l { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
    .tile.bad .n { color: var(--bad); } .tile.warn .n { color: var(--warn); } .tile.ok .n { color: var(--ok); }
    .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px 12px; margin-bottom: 14px; }
    .card.unhealthy { border-left: 4px solid var(--bad); }
    .card-head { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
    .card-head h3 { margin: 0; font: 600 15px/1.3 var(--mono); overflow-wrap: anywhere; }
    .card-head .right { margin-left: auto; color: var(--muted); font-size: 12px; }
    .pill { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; white-space: nowrap; }
    .pill.capturing, .pill.ok, .pill.succeeded { background: #dafbe1; color: #116329; }
    .pill.starting, .pill.running { background: #ddf4ff; color: #0550ae; }
    .pill.failing, .pill.critical, .pill.failed, .pill.bad { background: #ffebe9; color: #a40e26; }
    .pill.high, .pill.retrying { background: #fff8c5; color: #7d4e00; }
    .pill.stopped, .pill.low { background: #eaeef2; color: #424a53; }
    .facts { display: grid; grid-template-columns: repeat(8, minmax(0, 1fr)); gap: 6px 18px; margin: 12px 0 6px; }
    @media (max-width: 960px) { .facts { grid-template-columns: repeat(4, minmax(0, 1fr)); } }
    .facts div { min-width: 0; }
    .facts dt { color: var(--muted); font-size: 12px; }
    .facts dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
    .facts dd.bad { color: var(--bad); font-weight: 600; } .facts dd.warn { color: var(--warn); font-weight: 600; }
    .problems { background: #ffebe9; border: 1px solid #ffcecb; color: #82071e; border-radius: 6px; padding: 7px 12px; margin: 10px 0 4px; }
    .problems ul { margin: 0; padding-left: 18px; }
    .problems.agent { margin-top: 16px; }
    svg.timeline { display: block; width: 100%; height: auto; margin-top: 6px; }
    .legend svg.timeline { max-width: 1000px; }
    .legend { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 4px 10px; margin-bottom: 12px; }
    table { border-collapse: collapse; width: 100%; background: var(--card); }
    th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { color: var(--muted); font-weight: 600; font-size: 12px; background: #f6f8fa; }
    td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
    td code { white-space: nowrap; }
    .spacer { height: 12px; }
    .box { background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
    .advisor .group { padding: 10px 16px; border-bottom: 1px solid var(--line); }
    .advisor .group:last-child { border-bottom: none; }
    .advisor ul { list-style: none; margin: 6px 0 0; padding: 0; }
    .advisor li { padding: 3px 0; display: flex; gap: 10px; align-items: baseline; }
    .advisor li .db { font-family: var(--mono); font-size: 12px; white-space: nowrap; }
    .empty { color: var(--muted); padding: 10px 16px; }
    .job { border-bottom: 1px solid var(--line); padding: 10px 16px; }
    .job:last-child { border-bottom: none; }
    .job .line { display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; }
    .job .when { color: var(--muted); font-size: 12px; }
    pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin: 8px 0 0;
          font: 12px/1.45 var(--mono); white-space: pre-wrap; overflow-wrap: anywhere; }
    .crumbs { margin-bottom: 12px; font-size: 13px; }
    footer { max-width: 1240px; margin: 0 auto; padding: 0 28px 28px; color: var(--muted); font-size: 12px; }
    footer a { margin-right: 14px; }
    """
}
