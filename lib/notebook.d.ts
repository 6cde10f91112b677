/**
 * Types of the notebooks' entry (lib/notebook.js): the declarations of lib/index.ts, written by
 * lib/notebooks/types.ts into lib/.notebook-types/ (gitignored) whenever lib/ changed.
 */
export * from "./.notebook-types/index";
