// `import m from './core.wasm'`: workerd (and the bundle built by tools/build-serverless.mjs)
// hands a precompiled WebAssembly.Module to a module that imports a .wasm file.
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
