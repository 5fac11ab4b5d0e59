#!/usr/bin/env python3
"""Turns the Swift snippets of the DocC article GettingStarted.md into one program,
as the article says they go together: the observer class at file scope, every
other snippet in order in the body of one throwing function. The skeleton and
the Package.swift snippet are left out. Run by Examples/run-example.sh, which
compiles the result, so that the article's code cannot drift from the library.

    getting-started-program.py ARTICLE.md OUT.swift
"""
import re, sys

article, out = sys.argv[1], sys.argv[2]
blocks = re.findall(r'```swift\n(.*?)```', open(article).read(), re.S)
if not blocks:
    sys.exit(f'{article}: no ```swift blocks')
top, body = [], []
for b in blocks:
    if '@main' in b or 'dependencies:' in b:
        continue
    (top if b.lstrip().startswith('final class') else body).append(b)
indent = lambda s: ''.join('        ' + l if l.strip() else l for l in s.splitlines(True))
with open(out, 'w') as f:
    f.write('// Generated from GettingStarted.md by Examples/getting-started-program.py.\n')
    f.write('import Foundation\nimport GomalizingFlow\nimport GomalizingRun\n\n')
    f.write('\n'.join(top))
    f.write('\n@main\nstruct GettingStarted {\n    static func main() throws {\n')
    f.write('\n'.join(indent(b) for b in body))
    f.write('    }\n}\n')
print(f'{out}: {len(top)} file-scope and {len(body)} body snippets from {article}')
