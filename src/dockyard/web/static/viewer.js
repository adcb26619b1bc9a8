// The 3D view of a docking, drawn by 3Dmol.js (served by Dockyard from static/vendor):
// the receptor as a cartoon with the residues near the pose as sticks, one pose at a time,
// a reference ligand, the search box and the protein-ligand interactions as dashed lines.
// The submit page uses the same view to preview the box over an uploaded receptor.

let library = null;

export function load3Dmol() {
  library ??= import("/static/vendor/3Dmol.es6-min.js");
  return library;
}

export const INTERACTION_COLORS = {
  hydrogen_bond: "#2563eb",
  hydrophobic: "#7c8591",
  pi_stacking: "#16a34a",
  pi_cation: "#d97706",
  salt_bridge: "#db2777",
  halogen_bond: "#0891b2",
  metal: "#7c3aed",
};

const BOX_COLOR = "#e0822d";
const POCKET_DISTANCE = 5;

function cssColor(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

function splitSdf(text) {
  return text
    .split(/^\$\$\$\$\s*$/m)
    .filter((record) => record.trim())
    .map((record) => `${record.replace(/^\s*\n/, "")}$$$$\n`);
}

const point = ([x, y, z]) => ({ x, y, z });

export function residueLabel(atom) {
  return `${atom.resn} ${atom.chain ? `${atom.chain}:` : ""}${atom.resi}`;
}

export class DockViewer {
  static async create(element) {
    const $3Dmol = await load3Dmol();
    return new DockViewer($3Dmol, element);
  }

  constructor($3Dmol, element) {
    this.lib = $3Dmol;
    this.element = element;
    this.background = cssColor("--viewer-bg", "#ffffff");
    this.viewer = $3Dmol.createViewer(element, {
      backgroundColor: this.background,
      antialias: true,
    });
    this.receptor = null;
    this.poses = [];
    this.reference = null;
    this.rank = null;
    this.box = null;
    this.boxShapes = [];
    this.interactions = [];
    this.interactionShapes = [];
    this.labels = [];
    this.surface = null;
    this.hoverLabel = null;
    this.show = { box: true, reference: true, interactions: true, surface: false };
    this.onAtomClick = null;
    element.dockViewer = this; // for the browser tests and the console
    new ResizeObserver(() => {
      this.viewer.resize();
      this.viewer.render();
    }).observe(element);
  }

  setReceptor(text, format) {
    if (this.receptor) this.viewer.removeModel(this.receptor);
    this.receptor = this.viewer.addModel(text, format);
    const hasProtein = this.receptor.selectedAtoms({ atom: "CA" }).length > 0;
    this.receptorStyle = hasProtein
      ? { cartoon: { color: cssColor("--cartoon", "#b9c7cf"), thickness: 0.3, opacity: 0.8 } }
      : { line: { colorscheme: "grayCarbon" } };
    this.receptor.setClickable({}, true, (atom) => this.onAtomClick?.(atom));
    this.receptor.setHoverable(
      {},
      true,
      (atom) => this.showHover(atom),
      () => this.hideHover(),
    );
    this.styleReceptor();
    return this.receptor.selectedAtoms({}).length;
  }

  styleReceptor() {
    if (!this.receptor) return;
    const model = this.receptor;
    const viewer = this.viewer;
    viewer.setStyle({ model }, this.receptorStyle);
    viewer.addStyle(
      { model, hetflag: true, not: { resn: ["HOH", "WAT"] } },
      { sphere: { scale: 0.4 } },
    );
    const pose = this.poses[this.rank - 1];
    if (pose) {
      const near = {
        model,
        within: { distance: POCKET_DISTANCE, sel: { model: pose } },
        byres: true,
      };
      viewer.addStyle(near, { stick: { colorscheme: "grayCarbon", radius: 0.14 } });
    }
    viewer.setStyle({ model, elem: "H" }, {});
  }

  showHover(atom) {
    this.hideHover();
    this.hoverLabel = this.viewer.addLabel(`${residueLabel(atom)} ${atom.atom}`, {
      position: atom,
      fontSize: 12,
      fontColor: "#102a33",
      backgroundColor: "#ffffff",
      backgroundOpacity: 0.85,
      borderThickness: 0,
      inFront: true,
    });
    this.viewer.render();
  }

  hideHover() {
    if (!this.hoverLabel) return;
    this.viewer.removeLabel(this.hoverLabel);
    this.hoverLabel = null;
    this.viewer.render();
  }

  setPoses(sdf) {
    for (const model of this.poses) this.viewer.removeModel(model);
    this.poses = splitSdf(sdf).map((record) => {
      const model = this.viewer.addModel(record, "sdf", { keepH: true });
      model.setStyle({}, {});
      return model;
    });
    return this.poses.length;
  }

  showPose(rank, { zoom = false } = {}) {
    const pose = this.poses[rank - 1];
    if (!pose) return;
    for (const model of this.poses) model.setStyle({}, {});
    this.rank = rank;
    pose.setStyle({}, { stick: { colorscheme: "orangeCarbon", radius: 0.22 } });
    pose.setStyle({ elem: "H" }, {});
    this.styleReceptor();
    this.setInteractions([]);
    this.updateSurface();
    if (zoom) this.zoomToPose();
    this.element.dataset.pose = rank;
    this.viewer.render();
  }

  zoomToPose() {
    const pose = this.poses[this.rank - 1];
    if (pose) {
      this.viewer.zoomTo({ model: pose });
      this.viewer.zoom(0.7);
      this.unclip();
    } else {
      this.zoomToBox();
    }
  }

  // zoomTo() puts the clipping planes around what it zoomed to: keep the rest in view.
  unclip() {
    const slab = this.viewer.getSlab?.();
    if (slab) this.viewer.setSlab(slab.near - 60, slab.far + 60);
  }

  zoomToBox() {
    const box = this.box;
    if (!box || !this.receptor) {
      this.viewer.zoomTo();
      return;
    }
    const inside = (atom) =>
      Math.abs(atom.x - box.center_x) <= box.size_x / 2 + 4 &&
      Math.abs(atom.y - box.center_y) <= box.size_y / 2 + 4 &&
      Math.abs(atom.z - box.center_z) <= box.size_z / 2 + 4;
    const atoms = this.receptor.selectedAtoms({ predicate: inside });
    if (atoms.length) this.viewer.zoomTo({ model: this.receptor, predicate: inside });
    else this.viewer.zoomTo();
    this.unclip();
  }

  setReference(text, format) {
    if (this.reference) this.viewer.removeModel(this.reference);
    this.reference = text ? this.viewer.addModel(text, format) : null;
    this.styleReference();
  }

  styleReference() {
    if (!this.reference) return;
    const style = this.show.reference
      ? { stick: { colorscheme: "greenCarbon", radius: 0.12 } }
      : {};
    this.reference.setStyle({}, style);
    this.reference.setStyle({ elem: "H" }, {});
  }

  // box: {center_x, center_y, center_z, size_x, size_y, size_z} or null.
  setBox(box) {
    for (const shape of this.boxShapes) this.viewer.removeShape(shape);
    this.boxShapes = [];
    this.box = box;
    this.element.dataset.box = box ? "shown" : "none";
    if (!box || !this.show.box) {
      this.viewer.render();
      return;
    }
    const half = [box.size_x / 2, box.size_y / 2, box.size_z / 2];
    const center = [box.center_x, box.center_y, box.center_z];
    const corner = (signs) => point(center.map((value, axis) => value + signs[axis] * half[axis]));
    const corners = [];
    for (const x of [-1, 1]) for (const y of [-1, 1]) for (const z of [-1, 1]) corners.push([x, y, z]);
    for (const a of corners) {
      for (const b of corners) {
        const differing = a.filter((value, axis) => value !== b[axis]).length;
        if (differing === 1 && a.join() < b.join()) {
          this.boxShapes.push(
            this.viewer.addCylinder({
              start: corner(a),
              end: corner(b),
              radius: 0.09,
              color: BOX_COLOR,
              fromCap: 1,
              toCap: 1,
            }),
          );
        }
      }
    }
    this.viewer.render();
  }

  setInteractions(interactions) {
    for (const shape of this.interactionShapes) this.viewer.removeShape(shape);
    for (const label of this.labels) this.viewer.removeLabel(label);
    this.interactionShapes = [];
    this.labels = [];
    this.interactions = interactions;
    this.element.dataset.interactions = interactions.length;
    if (!this.show.interactions) {
      this.viewer.render();
      return;
    }
    const labelled = new Set();
    for (const found of interactions) {
      this.interactionShapes.push(
        this.viewer.addCylinder({
          start: point(found.ligand_point),
          end: point(found.protein_point),
          radius: found.kind === "hydrophobic" ? 0.05 : 0.08,
          color: INTERACTION_COLORS[found.kind] || "#444444",
          dashed: true,
          dashLength: 0.25,
          gapLength: 0.18,
        }),
      );
      if (!labelled.has(found.residue) && found.kind !== "hydrophobic") {
        labelled.add(found.residue);
        const [chain, name, number] = found.residue.split(":");
        this.labels.push(
          this.viewer.addLabel(`${name} ${number}${chain ? ` ${chain}` : ""}`, {
            position: point(found.protein_point),
            fontSize: 11,
            fontColor: "#102a33",
            backgroundColor: "#ffffff",
            backgroundOpacity: 0.75,
            borderThickness: 0,
            inFront: true,
          }),
        );
      }
    }
    this.viewer.render();
  }

  async updateSurface() {
    if (this.surface !== null) {
      this.viewer.removeSurface(this.surface);
      this.surface = null;
    }
    const pose = this.poses[this.rank - 1];
    if (!this.show.surface || !this.receptor) {
      this.viewer.render();
      return;
    }
    const near = pose
      ? { model: this.receptor, within: { distance: 10, sel: { model: pose } } }
      : { model: this.receptor };
    this.surface = await this.viewer.addSurface(
      this.lib.SurfaceType.VDW,
      { opacity: 0.55, color: "#dfe7ea" },
      near,
    );
    this.viewer.render();
  }

  toggle(what, shown) {
    this.show[what] = shown;
    if (what === "box") this.setBox(this.box);
    if (what === "reference") this.styleReference();
    if (what === "interactions") this.setInteractions(this.interactions);
    if (what === "surface") this.updateSurface();
    this.viewer.render();
  }

  render() {
    this.viewer.render();
  }

  // How many pixels of the picture differ from the background: a drawn view has many.
  async drawnPixels() {
    this.viewer.render();
    const image = new Image();
    image.src = this.viewer.pngURI();
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    const hex = this.background.replace("#", "");
    const background = [0, 2, 4].map((start) => parseInt(hex.slice(start, start + 2), 16));
    let drawn = 0;
    for (let index = 0; index < data.length; index += 4) {
      const differs = background.some((value, channel) => Math.abs(data[index + channel] - value) > 8);
      if (differs && data[index + 3] > 0) drawn += 1;
    }
    return { drawn, total: canvas.width * canvas.height };
  }
}
