import Foundation
import PackagePlugin

/// Records, at build time, the git commit the library is built from and
/// whether the code differed from it (changed or new files under
/// Package.swift, Sources or Plugins; studies and docs do not count), as
/// `BuildProvenance.swift` in the target (read by `Provenance`). Runs before
/// every build and rewrites the file only when it changes. The script itself
/// never fails: outside a git checkout (a tarball, git missing, a repository
/// without commits) both values are nil. A build system that does not run
/// prebuild plugins cannot build the library (the two values are missing).
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
        # Read-only queries: any owner's checkout may be read (git's safe.directory
        # check would otherwise hide a CI container's clone), no index lock taken.
        g() { git --no-optional-locks -c safe.directory='*' -C "$root" "$@" 2>/dev/null; }
        top=$(g rev-parse --show-toplevel)
        if [ -n "$top" ] && [ "$(cd "$top" && pwd -P)" = "$(cd "$root" && pwd -P)" ]; then
          hash=$(g rev-parse --verify -q 'HEAD^{commit}')
          if [ -n "$hash" ]; then
            commit="\"$hash\""
            if [ -n "$(g status --porcelain -- Package.swift Sources Plugins)" ]; then dirty=true; else dirty=false; fi
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
