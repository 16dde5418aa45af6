/**
 * The rooms of verite and the direction their imports may take (docs/architecture.md). A room
 * imports only rooms below it; rooms on the same floor do not import each other.
 *
 *   cli                        the command line
 *   scheduler                  cron runs, alerts
 *   pipeline | reports         a run: extract, load, the steps after loading, status, quarantine |
 *                              the business reviews: HTML pages with charts, and their server
 *   metrics                    the metric definitions, views, refresh, CLV
 *   extractors | transforms    the APIs' streams | staging and core models
 *   loaders                    landing pages of records in raw, reading record files
 *   warehouse                  connection, migrations, table types, the step contract
 *   config                     the config file's schema, loading, freshness rules
 *   catalog                    the stream catalogue and the page contract
 *   lib                        errors, logging, dates, HTTP retries, progress, randomness
 *
 * `bench/` and `tests/` stand outside the house and may import any room.
 *
 * `npm run lint:deps` fails on a back-arrow or a cycle; `npm run graph` prints the graph of
 * rooms. TypeScript 7 has no compiler API for dependency-cruiser to read .ts files with, so it
 * reads them through Babel's TypeScript preset, type-only imports kept as arrows
 * (.dependency-cruiser.babel.cjs).
 */
const FLOORS = [
  ['lib'],
  ['catalog'],
  ['config'],
  ['warehouse'],
  ['loaders'],
  ['extractors', 'transforms'],
  ['metrics'],
  ['pipeline', 'reports'],
  ['scheduler'],
  ['cli'],
];

const ROOMS = FLOORS.flat();

/** A path pattern matching the files of these rooms. */
const inRooms = (rooms) => `^(${rooms.join('|')})/`;

const layerRules = FLOORS.flatMap((floor, level) => {
  const above = FLOORS.slice(level + 1).flat();
  const rules = [];
  if (above.length) {
    rules.push({
      name: `no-back-arrow-from-${floor.join('-')}`,
      comment: `${floor.join(' and ')} may import only the rooms below: ${FLOORS.slice(0, level).flat().join(', ') || 'none'}`,
      severity: 'error',
      from: { path: inRooms(floor) },
      to: { path: inRooms(above) },
    });
  }
  for (const room of floor) {
    const siblings = floor.filter((r) => r !== room);
    if (siblings.length) {
      rules.push({
        name: `no-sideways-arrow-from-${room}`,
        comment: `${room} and ${siblings.join(', ')} share a floor and do not import each other`,
        severity: 'error',
        from: { path: inRooms([room]) },
        to: { path: inRooms(siblings) },
      });
    }
  }
  return rules;
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-house-importing-tests-or-bench',
      comment: 'the code does not import its tests or benchmarks',
      severity: 'error',
      from: { path: inRooms(ROOMS) },
      to: { path: '^(tests|bench)/' },
    },
    {
      name: 'no-circular',
      comment: 'no module imports itself through others',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'every import of the house resolves to a file or an installed package',
      severity: 'error',
      from: { path: inRooms(ROOMS) },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    babelConfig: { fileName: '.dependency-cruiser.babel.cjs' },
    // Type-only imports are arrows too: a room that names another's types depends on it.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^node_modules/' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
