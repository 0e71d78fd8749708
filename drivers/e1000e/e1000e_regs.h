// SPDX-License-Identifier: Apache-2.0
// Intel 82574 (e1000e) register map and bits used by the e1000e PMD, from the 82574 GbE
// Controller Family datasheet (section 10: register descriptions).
#ifndef VSWITCH_E1000E_REGS_H
#define VSWITCH_E1000E_REGS_H

#define E1000E_CTRL 0x00000
#define E1000E_STATUS 0x00008
#define E1000E_EECD 0x00010
#define E1000E_CTRL_EXT 0x00018
#define E1000E_ICR 0x000c0
#define E1000E_IMS 0x000d0
#define E1000E_IMC 0x000d8
#define E1000E_RCTL 0x00100
#define E1000E_TCTL 0x00400
#define E1000E_TIPG 0x00410
#define E1000E_RDBAL(q) (0x02800 + (q)*0x100)
#define E1000E_RDBAH(q) (0x02804 + (q)*0x100)
#define E1000E_RDLEN(q) (0x02808 + (q)*0x100)
#define E1000E_RDH(q) (0x02810 + (q)*0x100)
#define E1000E_RDT(q) (0x02818 + (q)*0x100)
#define E1000E_TDBAL(q) (0x03800 + (q)*0x100)
#define E1000E_TDBAH(q) (0x03804 + (q)*0x100)
#define E1000E_TDLEN(q) (0x03808 + (q)*0x100)
#define E1000E_TDH(q) (0x03810 + (q)*0x100)
#define E1000E_TDT(q) (0x03818 + (q)*0x100)
#define E1000E_RXCSUM 0x05000
#define E1000E_RFCTL 0x05008
#define E1000E_MTA(i) (0x05200 + (i)*4) // 128 entries
#define E1000E_RAL0 0x05400
#define E1000E_RAH0 0x05404
#define E1000E_MRQC 0x05818
#define E1000E_RETA(i) (0x05c00 + (i)*4) // 32 registers, 4 entries each
#define E1000E_RSSRK(i) (0x05c80 + (i)*4) // 10 registers, 40-byte key

// Statistics (clear on read).
#define E1000E_CRCERRS 0x04000
#define E1000E_ALGNERRC 0x04004
#define E1000E_RXERRC 0x0400c
#define E1000E_MPC 0x04010
#define E1000E_COLC 0x04028
#define E1000E_RLEC 0x04040
#define E1000E_GPRC 0x04074
#define E1000E_BPRC 0x04078
#define E1000E_MPRC 0x0407c
#define E1000E_GPTC 0x04080
#define E1000E_GORCL 0x04088
#define E1000E_GORCH 0x0408c
#define E1000E_GOTCL 0x04090
#define E1000E_GOTCH 0x04094
#define E1000E_RNBC 0x040a0
#define E1000E_RUC 0x040a4
#define E1000E_ROC 0x040ac
#define E1000E_TPR 0x040d0
#define E1000E_TPT 0x040d4
#define E1000E_MPTC 0x040f0
#define E1000E_BPTC 0x040f4

#define E1000E_CTRL_GIO_MASTER_DISABLE (1u << 2)
#define E1000E_CTRL_ASDE (1u << 5)
#define E1000E_CTRL_SLU (1u << 6)
#define E1000E_CTRL_FRCSPD (1u << 11)
#define E1000E_CTRL_FRCDPX (1u << 12)
#define E1000E_CTRL_RST (1u << 26)
#define E1000E_CTRL_VME (1u << 30)
#define E1000E_CTRL_PHY_RST (1u << 31)

#define E1000E_STATUS_FD (1u << 0)
#define E1000E_STATUS_LU (1u << 1)
#define E1000E_STATUS_SPEED_SHIFT 6
#define E1000E_STATUS_GIO_MASTER_EN (1u << 19)

#define E1000E_EECD_AUTO_RD (1u << 9)

#define E1000E_RCTL_EN (1u << 1)
#define E1000E_RCTL_UPE (1u << 3)
#define E1000E_RCTL_MPE (1u << 4)
#define E1000E_RCTL_LPE (1u << 5)
#define E1000E_RCTL_BAM (1u << 15)
#define E1000E_RCTL_BSIZE_8192 (2u << 16) // with BSEX
#define E1000E_RCTL_BSEX (1u << 25)
#define E1000E_RCTL_SECRC (1u << 26)

#define E1000E_TCTL_EN (1u << 1)
#define E1000E_TCTL_PSP (1u << 3)
#define E1000E_TCTL_CT(x) ((x) << 4)
#define E1000E_TCTL_COLD(x) ((x) << 12)
#define E1000E_TCTL_RTLC (1u << 24)
#define E1000E_TCTL_MULR (1u << 28)

#define E1000E_RXCSUM_PCSD (1u << 13) // write the RSS hash instead of the packet checksum
#define E1000E_RFCTL_EXSTEN (1u << 15) // extended rx descriptors

#define E1000E_MRQC_RSS (1u << 0) // multiple receive queues: RSS
#define E1000E_MRQC_TCPIPV4 (1u << 16)
#define E1000E_MRQC_IPV4 (1u << 17)
#define E1000E_MRQC_TCPIPV6 (1u << 18)
#define E1000E_MRQC_IPV6 (1u << 20)

#define E1000E_RAH_AV (1u << 31)

// Legacy tx descriptor command byte (bits 31:24 of `lower`).
#define E1000E_TXD_CMD_EOP (1u << 24)
#define E1000E_TXD_CMD_IFCS (1u << 25)
#define E1000E_TXD_CMD_RS (1u << 27)

// Extended rx write-back: frame errors CE, SE, SEQ, CXE, RXE in the error field (bits 31:20).
#define E1000E_RXD_ERR_FRAME 0x97000000u

#endif
