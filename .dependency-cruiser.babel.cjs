/**
 * How dependency-cruiser reads the house's TypeScript (.dependency-cruiser.cjs): Babel's
 * TypeScript preset, plus a plugin that keeps every import's arrow. The preset drops
 * `import type` and imports used only as types; for the graph they are arrows all the same (a
 * room that names another's types depends on it), so each import and re-export is first
 * doubled by a bare import of the same module, which the preset keeps.
 */
function keepTypeImportArrows({ types: t }) {
  return {
    visitor: {
      Program(path) {
        for (const statement of path.get('body')) {
          const { node } = statement;
          const withSource = statement.isImportDeclaration() || statement.isExportNamedDeclaration() || statement.isExportAllDeclaration();
          if (withSource && node.source) statement.insertBefore(t.importDeclaration([], t.stringLiteral(node.source.value)));
        }
      },
    },
  };
}

module.exports = {
  presets: [['@babel/preset-typescript', { allowDeclareFields: true }]],
  plugins: [keepTypeImportArrows],
};
