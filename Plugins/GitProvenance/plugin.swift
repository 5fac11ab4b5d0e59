import Foundation
import PackagePlugin

/// Records, at build time, the git commit the library is built from and
/// whether tracked files differed from it, as `BuildProvenance.swift` in the
/// target (read by `Provenance`). Runs before every build, rewrites the file
/// only when it changes, and never fails a build: outside a git checkout (a
/// tarball, or git missing) both values are nil.
@main
struct GitProvenance: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let out = context.pluginWorkDirectoryURL.appendingPathComponent("Generated")
        let root = context.package.directoryURL
        // $1 = the package root, $2 = the output folder. The checkout must be the
        // package itself, not a repository that merely contains its folder.
        let script = #"""
        root="$1"; out="$2"; mkdir -p "$out"
        commit=nil; dirty=nil
        top=$(git -C "$root" rev-parse --show-toplevel 2>/dev/null)
        if [ -n "$top" ] && [ "$(cd "$top" && pwd -P)" = "$(cd "$root" && pwd -P)" ]; then
          hash=$(git -C "$root" rev-parse HEAD 2>/dev/null)
          if [ -n "$hash" ]; then
            commit="\"$hash\""
            if [ -n "$(git --no-optional-locks -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then dirty=true; else dirty=false; fi
          fi
        fi
        tmp="$out/../BuildProvenance.swift.$$"
        printf '%s\n' "// Written by the GitProvenance build plugin; not in git." \
          "let buildGitCommit: String? = $commit" "let buildGitTreeDirty: Bool? = $dirty" > "$tmp"
        if cmp -s "$tmp" "$out/BuildProvenance.swift"; then rm -f "$tmp"; else mv -f "$tmp" "$out/BuildProvenance.swift"; fi
        """#
        var environment: [String: String] = [:]
        for key in ["PATH", "HOME"] { environment[key] = ProcessInfo.processInfo.environment[key] }
        return [.prebuildCommand(displayName: "Recording the git commit of \(target.name)",
                                 executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: ["-c", script, "sh", root.path, out.path],
                                 environment: environment,
                                 outputFilesDirectory: out)]
    }
}
