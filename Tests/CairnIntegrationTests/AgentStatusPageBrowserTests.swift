@testable import CairnAgent
import CairnTestSupport
import Foundation
import Testing

/// The status pages in a real browser: headless Chromium loads them from the agent's server,
/// its DOM holds every database and its pictures, it reports no error, and it can screenshot them.
///
/// `CAIRN_UPDATE_SCREENSHOT=1` also writes the overview's screenshot to
/// docs/agent-status-page.png (the one the documentation shows).
@Suite struct AgentStatusPageBrowserTests {
    /// Debian's `chromium` (or another Chromium or Chrome on the PATH).
    static let chromium: String? = {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init)
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            if let dir = dirs.first(where: { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }) { return "\(dir)/\(name)" }
        }
        print("AgentStatusPageBrowserTests skipped: chromium is not installed (apt-get install chromium)")
        return nil
    }()

    /// Runs Chromium headless on `url` with `extra` arguments, off the cooperative threads.
    static func browse(_ url: String, _ extra: [String], profile: TempDir) async -> Shell.Output {
        let args = ["timeout", "120", chromium ?? "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                    "--user-data-dir=\(profile.path)", "--enable-logging=stderr", "--v=0"] + extra + [url]
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: Shell.run(args)) }
        }
    }

    /// The lines of Chromium's log saying a page of ours failed: a script error, a resource not
    /// loaded, or any console message from our pages (they have no script: a message there is a
    /// Content-Security-Policy violation or the like).
    static func errors(_ stderr: String, port: Int) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { line in
            line.contains("Uncaught") || (line.contains("Failed to load resource") && line.contains("127.0.0.1:\(port)"))
                || (line.contains(":CONSOLE") && line.contains("127.0.0.1:\(port)"))
        }
    }

    @Test func chromiumsErrorLinesAreRecognised() {
        let log = """
            [1:1:1129/213808.592502:WARNING:ui/base/idle/idle_linux.cc:111] None of the known D-Bus ScreenSaver services could be used.
            [1:1:1129/213808.783602:INFO:CONSOLE:1] "Uncaught ReferenceError: f is not defined", source: http://127.0.0.1:8080/ (1)
            [1:1:1129/213814.643443:INFO:CONSOLE:0] "Loading the image 'http://127.0.0.1:8080/x.png' violates the following Content Security Policy directive", source: http://127.0.0.1:8080/ (0)
            """
        #expect(Self.errors(log, port: 8080).count == 2)
        #expect(Self.errors(log, port: 9090).count == 1)
    }

    @Test(.enabled(if: chromium != nil, "chromium is not installed (apt-get install chromium)"))
    func chromiumRendersTheStatusPages() async throws {
        let snapshot = AgentFixtures.realistic()
        #expect(snapshot.databases.count == 3)
        try await AgentHTTPServerTests.withServer(snapshot) { port, _ in
            let profile = TempDir()
            let dom = await Self.browse("http://127.0.0.1:\(port)/", ["--dump-dom"], profile: profile)
            #expect(dom.status == 0, "chromium: \(dom.stderr.suffix(2000))")
            for d in snapshot.databases {
                #expect(dom.stdout.contains(HTML.escape(d.path)), "\(d.path) is not in the DOM")
            }
            #expect(dom.stdout.contains("<svg class=\"timeline\""))
            #expect(dom.stdout.contains("class=\"backup level-0\"") && dom.stdout.contains("class=\"gap\""))
            #expect(Self.errors(dom.stderr, port: port).isEmpty, "\(Self.errors(dom.stderr, port: port))")

            let db = await Self.browse("http://127.0.0.1:\(port)/db/tenants-acme", ["--dump-dom"], profile: profile)
            #expect(db.stdout.contains("/srv/tenants/acme.sqlite") && db.stdout.contains("<svg") && db.stdout.contains("<pre>"))
            #expect(Self.errors(db.stderr, port: port).isEmpty, "\(Self.errors(db.stderr, port: port))")

            let png = profile.file("status.png")
            let shot = await Self.browse("http://127.0.0.1:\(port)/", ["--screenshot=\(png)", "--window-size=1280,900", "--hide-scrollbars"], profile: profile)
            let data = FileManager.default.contents(atPath: png) ?? Data()
            #expect(data.starts(with: [0x89, 0x50, 0x4E, 0x47]), "no screenshot: \(shot.stderr.suffix(2000))")
            #expect(Self.errors(shot.stderr, port: port).isEmpty)
        }
    }

    @Test(.enabled(if: chromium != nil && ProcessInfo.processInfo.environment["CAIRN_UPDATE_SCREENSHOT"] == "1", "set CAIRN_UPDATE_SCREENSHOT=1 to update docs/agent-status-page.png"))
    func updateTheDocumentationScreenshot() async throws {
        try await AgentHTTPServerTests.withServer(AgentFixtures.realistic()) { port, _ in
            let profile = TempDir()
            let png = Paths.packageRoot + "/docs/agent-status-page.png"
            _ = await Self.browse("http://127.0.0.1:\(port)/", ["--screenshot=\(png)", "--window-size=1280,1380", "--hide-scrollbars", "--force-device-scale-factor=1"], profile: profile)
            #expect(FileManager.default.contents(atPath: png)?.starts(with: [0x89, 0x50, 0x4E, 0x47]) == true)
        }
    }
}
