/** The `verite` executable: parses the command line and runs the command (see `program.ts`). */
import { ConfigError } from '../lib/errors.ts';
import { useEnvironmentProxy } from '../lib/proxy.ts';
import { EXIT } from './context.ts';
import { buildProgram, commandLine } from './program.ts';

// Outbound HTTP through the proxy HTTPS_PROXY or HTTP_PROXY names, when one does (lib/proxy.ts);
// one no client could use stops every command, saying which variable and why.
try {
  await useEnvironmentProxy();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`verite: ${error.message}\n`);
  process.exit(EXIT.usage);
}

await buildProgram().parseAsync(commandLine(process.argv));
