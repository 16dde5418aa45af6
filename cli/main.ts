/** The `verite` executable: parses the command line and runs the command (see `program.ts`). */
import { buildProgram } from './program.ts';

await buildProgram().parseAsync(process.argv);
