/** The `verite` executable: parses the command line and runs the command (see `program.ts`). */
import { buildProgram } from './program.ts';

// Outbound HTTP through the proxy HTTPS_PROXY or HTTP_PROXY names (lib/proxy.ts), loaded only then.
if (['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((name) => process.env[name])) {
  (await import('../lib/proxy.ts')).useEnvironmentProxy();
}

await buildProgram().parseAsync(process.argv);
